// The web chat. Renders ONLY from the transcript API (GET …/messages?after=cursor): after
// each send, every 2 s while the page is open (every 15 s while the tab is hidden, and at
// once when it is shown again). So a reload, a dropped connection or an agent's reply all
// end up in the same log, once, in order. Nothing typed is lost: the input is cleared only
// after the server has the message. Nothing is said twice either: each message carries a
// random client_message_id, kept for retries of the same words, so a retry of a send whose
// answer was lost is recognised by the server instead of becoming a second turn.

const SENDER_KEY = "webchat.sender";
const ELDER_KEY = "webchat.elderMode";
const READER_KEY = "webchat.screenReader";
const POLL_MS = 2000;
const HIDDEN_POLL_MS = 15000; // a hidden tab still gets everything, just less often
const MAX_BACKOFF_MS = 30000;
const PAGE_LIMIT = 100;
const SENDER_RE = /^web-[A-Za-z0-9_-]{8,100}$/;

const WHO = { user: "您说：", bot: "助手说：", agent: "工作人员说：" };

const $ = (id) => document.getElementById(id);
const log = $("log");
const list = $("messages");
const form = $("send-form");
const input = $("message-input");
const errorBox = $("error");
const queueStatus = $("queue-status");
const connectionStatus = $("connection-status");
const elderToggle = $("elder-toggle");
const readerToggle = $("reader-toggle");

// ------------------------------------------------------------------ remembered settings

function stored(key) {
  try {
    return window.localStorage.getItem(key);
  } catch {
    return null; // storage blocked: the page still works, it just forgets on reload
  }
}

function store(key, value) {
  try {
    window.localStorage.setItem(key, value);
  } catch {
    /* see stored() */
  }
}

function randomHex() {
  const bytes = new Uint8Array(16);
  window.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function newSenderId() {
  return "web-" + randomHex();
}

function senderId() {
  let id = stored(SENDER_KEY);
  if (!id || !SENDER_RE.test(id)) {
    id = newSenderId();
    store(SENDER_KEY, id);
  }
  return id;
}

const sender = senderId();
const ENDED_KEY = "webchat.justEnded";

function setToggle(button, key, on, apply) {
  button.setAttribute("aria-pressed", on ? "true" : "false");
  store(key, on ? "1" : "0");
  apply(on);
}

function applyElder(on) {
  document.documentElement.classList.toggle("elder", on);
}

function wireToggle(button, key, apply) {
  setToggle(button, key, stored(key) === "1", apply);
  button.addEventListener("click", () => {
    setToggle(button, key, button.getAttribute("aria-pressed") !== "true", apply);
  });
}

wireToggle(elderToggle, ELDER_KEY, applyElder);
wireToggle(readerToggle, READER_KEY, () => {});

function metadata() {
  return {
    web: true,
    screen_reader: readerToggle.getAttribute("aria-pressed") === "true",
    elder_mode: elderToggle.getAttribute("aria-pressed") === "true",
  };
}

// ------------------------------------------------------------------ status and errors

function say(box, text) {
  if (box.textContent !== text) box.textContent = text;
}

function showError(text) {
  // Emptied first so the same sentence twice in a row is announced twice.
  errorBox.textContent = "";
  window.setTimeout(() => {
    errorBox.textContent = text;
  }, 50);
}

function clearError() {
  errorBox.textContent = "";
}

function queueText(queue) {
  const minutes = Math.max(1, Math.round(Number(queue.eta_s) / 60));
  // The same words as the spoken queue notice, so the two never seem to disagree.
  return `排队中：您排在第 ${queue.position} 位，大约等 ${minutes} 分钟。`;
}

// ------------------------------------------------------------------ rendering

const rendered = new Set();
let cursor = 0;

function hideOldQuickReplies() {
  for (const group of log.querySelectorAll(".quick-replies")) group.hidden = true;
}

function render(message) {
  if (rendered.has(message.id)) return;
  rendered.add(message.id);
  const custom = message.custom || {};
  if (custom.queue && Number.isInteger(custom.queue.position)) {
    say(queueStatus, queueText(custom.queue));
  }
  if (message.role === "agent") say(queueStatus, "工作人员正在和您对话。");
  const text = (message.text || "").trim();
  const buttons = message.buttons || [];
  if (message.role === "user") hideOldQuickReplies();
  if (!text && buttons.length === 0) return; // e.g. a bare handoff signal: nothing to show

  const item = document.createElement("li");
  item.className = `message from-${message.role}`;
  item.dataset.id = String(message.id);
  const who = document.createElement("span");
  who.className = "who";
  who.textContent = WHO[message.role] || "助手说：";
  const body = document.createElement("span");
  body.className = "text";
  body.id = `message-${message.id}`;
  body.textContent = text;
  item.append(who, body);

  if (text && message.role !== "user") item.append(listenButton(message.id, body.id));
  if (buttons.length > 0) {
    const group = document.createElement("div");
    group.className = "quick-replies";
    group.setAttribute("role", "group");
    group.setAttribute("aria-label", "可以直接选");
    for (const choice of buttons) {
      const title = String(choice.title || "").trim();
      if (!title) continue;
      const button = document.createElement("button");
      button.type = "button";
      button.className = "quick";
      button.textContent = title;
      button.addEventListener("click", () => {
        input.focus(); // this button disappears once the answer is in the log
        send(title, false);
      });
      group.append(button);
    }
    item.append(group);
  }
  list.append(item);
}

// ------------------------------------------------------------------ reading the transcript

function messagesUrl(after) {
  return `/api/conversations/${encodeURIComponent(sender)}/messages?after=${after}&limit=${PAGE_LIMIT}`;
}

async function pull() {
  for (;;) {
    const response = await fetch(messagesUrl(cursor), { cache: "no-store" });
    if (response.status === 404) return; // nothing said yet: an empty conversation
    if (!response.ok) throw new Error(`messages: HTTP ${response.status}`);
    const page = await response.json();
    const before = list.children.length;
    for (const message of page.messages) render(message);
    if (typeof page.cursor === "number" && page.cursor > cursor) cursor = page.cursor;
    if (list.children.length > before && document.activeElement === input) {
      form.scrollIntoView({ block: "nearest" }); // the input and 发送 stay on screen
    }
    if (page.messages.length < PAGE_LIMIT) return;
  }
}

// One pull at a time, so the cursor only ever moves forward and nothing renders twice.
let pulling = Promise.resolve();
function refresh() {
  const next = pulling.then(pull, pull);
  pulling = next.catch(() => {});
  return next;
}

let offline = false;
let restored = false;

function online() {
  if (offline) say(connectionStatus, "已经重新连上了。");
  offline = false;
  if (!restored) {
    restored = true;
    log.setAttribute("aria-busy", "false"); // from now on each new message is read out
  }
}

function lostConnection() {
  if (!offline) say(connectionStatus, "连接断了，正在重新连接。您的对话都还在。");
  offline = true;
}

let delay = POLL_MS;
let pollTimer = 0;
let polling = false;

function hidden() {
  return document.visibilityState === "hidden";
}

async function poll() {
  window.clearTimeout(pollTimer);
  if (polling) return; // the poll under way schedules the next one
  polling = true;
  try {
    await refresh();
    online();
    delay = POLL_MS;
  } catch {
    lostConnection();
    delay = Math.min(delay * 2, MAX_BACKOFF_MS);
  } finally {
    polling = false;
  }
  pollTimer = window.setTimeout(poll, hidden() ? Math.max(delay, HIDDEN_POLL_MS) : delay);
}

// Back on the tab: whatever came while it was hidden is shown (and read out) right away.
document.addEventListener("visibilitychange", () => {
  if (!hidden()) poll();
});

// ------------------------------------------------------------------ sending

let sending = false;
// The message being sent and its id: a retry of the same words reuses the id, so the
// server can tell "again, the answer got lost" from "the same words, said again".
let unsent = null; // {text, id}

function clientMessageId(text) {
  if (!unsent || unsent.text !== text) unsent = { text, id: randomHex() };
  return unsent.id;
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    if (body && body.error && typeof body.error.message === "string") return body.error.message;
  } catch {
    /* not our JSON: use the general sentence */
  }
  return "出了点问题。";
}

async function send(text, fromInput) {
  if (sending) return;
  sending = true;
  form.setAttribute("aria-busy", "true");
  clearError();
  const id = clientMessageId(text);
  try {
    let response;
    try {
      response = await fetch("/api/webchat/messages", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          sender,
          message: text,
          client_message_id: id,
          metadata: metadata(),
        }),
      });
    } catch {
      throw new Error("现在连不上服务器。");
    }
    if (!response.ok) throw new Error(await errorMessage(response));
    if (unsent && unsent.id === id) unsent = null; // the next message gets a new id
    if (fromInput && input.value.trim() === text) input.value = "";
    try {
      await refresh();
      online();
    } catch {
      lostConnection(); // sent; the reply shows up once polling reconnects
    }
  } catch (err) {
    if (!input.value.trim()) input.value = text; // a quick reply is kept for the retry too
    showError(`没有发出去。${err.message}您的话还在输入框里，请再按发送。`);
  } finally {
    sending = false;
    form.removeAttribute("aria-busy");
  }
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = input.value.trim();
  input.focus();
  if (!text) {
    showError("请先输入要说的话。");
    return;
  }
  send(text, true);
});

// ------------------------------------------------------------------ spoken replies (朗读)

let playing = null; // {audio, url, button}

function stopPlaying() {
  if (!playing) return;
  playing.audio.pause();
  URL.revokeObjectURL(playing.url);
  playing.button.textContent = "朗读";
  playing = null;
}

function listenButton(messageId, textId) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "listen";
  button.textContent = "朗读";
  button.setAttribute("aria-describedby", textId);
  button.addEventListener("click", () => listen(messageId, button));
  return button;
}

async function listen(messageId, button) {
  const wasMine = playing && playing.button === button;
  stopPlaying();
  if (wasMine) return; // a second press stops
  clearError();
  try {
    const url = `/api/conversations/${encodeURIComponent(sender)}/messages/${messageId}/speech`;
    const response = await fetch(url, { cache: "no-store" });
    if (!response.ok) {
      showError(await errorMessage(response)); // the server's own sentence, in Chinese
      return;
    }
    const objectUrl = URL.createObjectURL(await response.blob());
    const audio = new Audio(objectUrl);
    playing = { audio, url: objectUrl, button };
    button.textContent = "停止朗读";
    audio.addEventListener("ended", () => {
      if (playing && playing.audio === audio) stopPlaying();
    });
    await audio.play();
  } catch {
    stopPlaying(); // offline, or the browser would not play it
    showError("现在不能朗读，请看屏幕上的文字。");
  }
}

// ------------------------------------------------------------------ ending

// 评价 is a word the gateway reads itself: it asks the rating of the newest unrated task
// again (within the setting's days), or says there is nothing to rate.
$("rate-button").addEventListener("click", () => {
  input.focus(); // the answer buttons come in the log; the cursor waits in the input
  send("评价", false);
});

// A new sender id makes a new, empty conversation; the old one stays on the server for
// the staff, but this browser no longer knows its key. Reloading rebuilds the page from
// scratch, and the next load says what happened and puts the cursor in the input.
$("end-button").addEventListener("click", () => {
  if (!window.confirm("结束后，这次的对话会从本页清除。确定要结束吗？")) return;
  store(SENDER_KEY, newSenderId());
  try {
    window.sessionStorage.setItem(ENDED_KEY, "1");
  } catch {
    /* storage blocked: the page still starts afresh, just without the notice */
  }
  window.location.reload();
});

function announceEnded() {
  let ended = null;
  try {
    ended = window.sessionStorage.getItem(ENDED_KEY);
    window.sessionStorage.removeItem(ENDED_KEY);
  } catch {
    return;
  }
  if (ended !== "1") return;
  say(connectionStatus, "上一次对话已经结束，可以开始新的对话了。");
  input.focus();
}

// ------------------------------------------------------------------ start

announceEnded();

poll();
