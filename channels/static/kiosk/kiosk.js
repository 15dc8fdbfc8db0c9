// Kiosk page: voice and text turns over WS /ws/kiosk, answers shown in large text and
// read aloud. No framework, no build step, nothing fetched from outside this server.

const $ = (id) => document.getElementById(id);

const state = {
  ws: null,
  connected: false,
  talking: false,
  mic: null, // {stream, context, node, source}
  voiceOk: true,
  playing: null,
  audioQueue: [],
  handsFree: false, // the microphone keeps streaming; the server splits the utterances
  handoff: false, // waiting for or talking with a person: never "end" this conversation
  idleTimer: null,
  // Reconnecting goes on with the same conversation (see channels/kiosk.py, "hello"): its
  // name and the stream id of the last push, in memory only (a reload starts afresh).
  resume: null,
  lastEventId: null,
};

// ---------------------------------------------------------------- connection

function socketUrl() {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}/ws/kiosk`;
}

function setStatus(text) {
  $("connection-status").textContent = text;
}

function connect() {
  const ws = new WebSocket(socketUrl());
  ws.binaryType = "arraybuffer";
  state.ws = ws;
  ws.addEventListener("open", () => {
    state.connected = true;
    setStatus("已连接");
    ws.send(JSON.stringify({ type: "hello", resume: state.resume, after: state.lastEventId }));
  });
  ws.addEventListener("close", () => {
    state.connected = false;
    if (state.ws === ws) {
      setStatus("连接断开，正在重新连接……");
      stopTalking(false);
      setTimeout(connect, 2000);
    }
  });
  ws.addEventListener("message", (event) => {
    if (typeof event.data !== "string") return;
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    activity();
    if ("id" in message) state.lastEventId = message.id; // null: cannot resume from here
    handle(message);
  });
}

function sendJson(message) {
  if (state.ws && state.ws.readyState === WebSocket.OPEN) {
    state.ws.send(JSON.stringify(message));
    return true;
  }
  showError("还没有连上服务，请稍等再试。");
  return false;
}

// ---------------------------------------------------------------- messages

function handle(message) {
  switch (message.type) {
    case "partial":
      $("caption").textContent = message.text || "";
      if (message.text && message.text.trim()) stopAudio(); // barge-in: the user speaks
      break;
    case "final":
      $("caption").textContent = message.text || "";
      if (message.text) {
        addToLog("user", message.text);
        showChoices([]); // answered by voice: the old choices no longer apply
      }
      break;
    case "bot":
      if (message.from === "agent") state.handoff = true;
      showReply(message.text, message.audio, message.from === "agent" ? "agent" : "bot");
      showChoices(Array.isArray(message.choices) ? message.choices : []);
      break;
    case "queue":
      state.handoff = true;
      break;
    case "reset":
      state.handoff = false;
      state.resume = message.resume || null;
      resetScreen();
      break;
    case "session":
      onSession(message);
      break;
    case "error":
      showError(message.message || "出了点问题，请再试一次。");
      if (message.code === "voice_unavailable") voiceOff();
      break;
    default:
      break;
  }
}

function onSession(message) {
  if (state.resume && message.resume !== state.resume) state.handoff = false; // a new one
  const wasResuming = state.resume !== null;
  state.resume = message.resume || null;
  if (!wasResuming) return;
  // resync: what was said while we were away cannot be replayed; say so.
  setStatus(message.resync ? "已重新连接，断开时的消息可能没有收到。" : "已重新连接");
}

function addToLog(who, text) {
  const item = document.createElement("li");
  item.className = who;
  const label = document.createElement("span");
  label.className = "who";
  label.textContent = { user: "您说：", agent: "工作人员：" }[who] || "助手：";
  item.append(label, document.createTextNode(text));
  $("log").append(item);
  item.scrollIntoView({ block: "nearest" });
  $("welcome").hidden = true;
}

// The newest reply's choices as big buttons; an answer (touch, voice, typing) clears them.
function showChoices(titles) {
  const box = $("choices");
  const buttons = titles
    .filter((title) => typeof title === "string" && title.trim())
    .map((title) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "choice";
      button.textContent = title;
      button.addEventListener("click", () => {
        const fromKeyboard = box.contains(document.activeElement);
        sendWords(title);
        // The buttons are gone; a keyboard user continues at the main control.
        if (fromKeyboard) ($("talk-button").disabled ? $("text-input") : $("talk-button")).focus();
      });
      return button;
    });
  box.replaceChildren(...buttons);
  box.hidden = buttons.length === 0;
}

function showReply(text, audio, who = "bot") {
  if (!text) return;
  $("reply").textContent = text;
  addToLog(who, text);
  if (audio) {
    state.audioQueue.push({ text, audio });
    if (!state.playing) playNext();
  }
}

function playNext() {
  const next = state.audioQueue.shift();
  if (!next) {
    state.playing = null;
    return;
  }
  const bytes = Uint8Array.from(atob(next.audio), (c) => c.charCodeAt(0));
  const url = URL.createObjectURL(new Blob([bytes], { type: "audio/wav" }));
  const player = new Audio(url);
  state.playing = player;
  $("reply").textContent = next.text; // the sentence on screen is the one being read
  const done = () => {
    URL.revokeObjectURL(url);
    playNext();
  };
  player.addEventListener("ended", done);
  player.addEventListener("error", done);
  player.play().catch(done);
}

function stopAudio() {
  state.audioQueue = [];
  if (state.playing) {
    state.playing.pause();
    state.playing = null;
  }
}

function showError(text) {
  $("error-alert").textContent = text;
}

function clearError() {
  $("error-alert").textContent = "";
}

function resetScreen() {
  stopAudio();
  $("log").replaceChildren();
  $("caption").textContent = "";
  $("reply").textContent = "";
  showChoices([]);
  $("welcome").hidden = false;
  clearError();
}

// ---------------------------------------------------------------- voice

function voiceOff() {
  state.voiceOk = false;
  stopTalking(false);
  $("voice-off").hidden = false;
  $("talk-button").disabled = true;
  $("welcome-voice").textContent = "请在下面打字提问。";
  $("text-input").focus();
}

async function checkHealth() {
  try {
    const response = await fetch("/health", { cache: "no-store" });
    const health = await response.json();
    if (health && health.voice && health.voice.asr && health.voice.asr.ok === false) voiceOff();
  } catch {
    // The socket's own errors say what is wrong; the page still works by text.
  }
}

async function startTalking(handsFree = false) {
  clearError();
  stopAudio(); // barge-in: pressing the button silences the reply at once
  if (!navigator.mediaDevices || !window.AudioWorkletNode) {
    showError("这台机器不能录音，请用键盘打字。");
    return;
  }
  const talk = $("talk-button");
  talk.disabled = true;
  try {
    const stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true },
    });
    const context = new AudioContext();
    await context.audioWorklet.addModule("/static/kiosk/pcm-worklet.js");
    const source = context.createMediaStreamSource(stream);
    const node = new AudioWorkletNode(context, "pcm-downsampler");
    node.port.onmessage = (event) => {
      if (state.talking && state.ws && state.ws.readyState === WebSocket.OPEN) {
        state.ws.send(event.data);
      }
    };
    source.connect(node);
    state.mic = { stream, context, node, source };
    const start = handsFree ? { type: "start", mode: "hands_free" } : { type: "start" };
    if (!sendJson(start)) {
      releaseMic();
      return;
    }
    state.talking = true;
    state.handsFree = handsFree;
    setHandsFreeButton();
    $("caption").textContent = "请说话……";
    talk.textContent = "停止说话";
    talk.setAttribute("aria-pressed", "true");
  } catch {
    releaseMic();
    showError("没有打开麦克风，请用键盘打字，或者找工作人员。");
  } finally {
    talk.disabled = !state.voiceOk;
    talk.focus();
  }
}

function releaseMic() {
  const mic = state.mic;
  state.mic = null;
  if (!mic) return;
  mic.source.disconnect();
  mic.node.port.postMessage("flush");
  mic.stream.getTracks().forEach((track) => track.stop());
  mic.context.close();
}

function setHandsFreeButton() {
  const button = $("hands-free-button");
  button.setAttribute("aria-pressed", String(state.handsFree)); // the name stays 免提模式
}

function stopTalking(notify = true) {
  state.handsFree = false;
  setHandsFreeButton();
  const talk = $("talk-button");
  talk.textContent = "开始说话";
  talk.setAttribute("aria-pressed", "false");
  if (!state.talking) {
    releaseMic();
    return;
  }
  state.talking = false;
  releaseMic();
  if (notify) sendJson({ type: "stop" });
}

// ---------------------------------------------------------------- wiring

function sendText(event) {
  event.preventDefault();
  const input = $("text-input");
  const text = input.value.trim();
  if (!text) {
    showError("请先输入要说的话。");
    input.focus();
    return;
  }
  if (sendWords(text)) input.value = "";
}

function sendWords(text) {
  clearError();
  stopAudio(); // barge-in: answering silences the reply at once
  if (!sendJson({ type: "text", text })) return false;
  addToLog("user", text);
  showChoices([]);
  return true;
}

function command(event) {
  const name = event.currentTarget.dataset.command;
  clearError();
  if (name === "end") {
    stopTalking();
    stopAudio();
    state.resume = null; // a reconnect before the reset must not bring this one back
  }
  sendJson({ type: "command", name });
}

// ---------------------------------------------------------------- inactivity

function idleSeconds() {
  const value = Number(document.body.dataset.idleSeconds);
  return Number.isFinite(value) && value > 0 ? value : 120;
}

function activity() {
  clearTimeout(state.idleTimer);
  state.idleTimer = setTimeout(goIdle, idleSeconds() * 1000);
}

function goIdle() {
  if (state.handsFree) stopTalking();
  if (state.handoff) {
    // A person is (or will be) answering: keep this conversation, only tidy the screen.
    resetScreen();
  } else if ($("log").children.length) {
    stopTalking();
    state.resume = null;
    if (!sendJson({ type: "command", name: "end" })) resetScreen();
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("talk-button").addEventListener("click", () => {
    if (state.talking) stopTalking();
    else startTalking();
  });
  $("hands-free-button").addEventListener("click", () => {
    if (state.handsFree) stopTalking();
    else {
      if (state.talking) stopTalking();
      startTalking(true);
    }
  });
  for (const kind of ["pointerdown", "keydown", "input"]) {
    document.addEventListener(kind, activity, true);
  }
  $("text-form").addEventListener("submit", sendText);
  for (const button of document.querySelectorAll("[data-command]")) {
    button.addEventListener("click", command);
  }
  connect();
  checkHealth();
  activity();
});
