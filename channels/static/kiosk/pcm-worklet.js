// Microphone -> 16 kHz 16-bit mono PCM, posted to the page in ~0.1 s ArrayBuffers.
// Runs in the AudioWorkletGlobalScope, where `sampleRate` is the context's input rate.

const TARGET_RATE = 16000;
const FRAME_SAMPLES = 1600; // 0.1 s at 16 kHz

class PcmDownsampler extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / TARGET_RATE; // input samples per output sample
    this.position = 0; // where the next output sample falls, in input samples
    this.previous = 0; // last input sample of the previous block (for interpolation)
    this.out = new Int16Array(FRAME_SAMPLES);
    this.filled = 0;
    this.port.onmessage = (event) => {
      if (event.data === "flush") this.flush();
    };
  }

  flush() {
    if (this.filled > 0) {
      const frame = this.out.slice(0, this.filled);
      this.port.postMessage(frame.buffer, [frame.buffer]);
      this.filled = 0;
    }
  }

  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0) return true;
    const channel = input[0];
    const n = channel.length;
    // Average a window of `step` input samples per output sample (a simple low-pass),
    // reading the previous block's last sample for positions just before 0.
    while (this.position < n) {
      const start = Math.max(-1, Math.floor(this.position - this.step / 2));
      const end = Math.min(n - 1, Math.floor(this.position + this.step / 2));
      let sum = 0;
      let count = 0;
      for (let i = start; i <= end; i++) {
        sum += i < 0 ? this.previous : channel[i];
        count++;
      }
      const value = Math.max(-1, Math.min(1, count ? sum / count : 0));
      this.out[this.filled++] = value < 0 ? value * 0x8000 : value * 0x7fff;
      if (this.filled === FRAME_SAMPLES) this.flush();
      this.position += this.step;
    }
    this.position -= n;
    this.previous = channel[n - 1];
    return true;
  }
}

registerProcessor("pcm-downsampler", PcmDownsampler);
