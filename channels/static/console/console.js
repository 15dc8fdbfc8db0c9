// Agent console: login, live queue, conversation take-over.
//
// Plain DOM code on purpose (no framework, no build): the repository holds exactly what
// the browser runs. Server text is only ever put into the page with textContent, never
// innerHTML, so a resident's message cannot inject markup. Handlers are attached here,
// never inline, so the page works under a strict Content-Security-Policy.

const TOKEN_KEY = "agentConsole.token";
const NAME_KEY = "agentConsole.username";
const MAX_BACKOFF_S = 30;
const ANNOUNCEMENTS_KEPT = 5;

// Words a worker reads at a glance; the raw value is shown when a new one appears.
const PRIORITY_LABELS = { urgent: "紧急", high: "高", normal: "普通" };
const REASON_LABELS = {
  user_request: "居民要求转人工",
  emergency: "紧急情况",
  complaint: "投诉",
  verification_failed: "身份核验多次失败",
  registry_unavailable: "社保系统连不上",
  not_understood: "多次没听懂",
  repeated_misunderstanding: "多次没听懂",
  no_progress: "同一个问题三次没办成",
};
const CHANNEL_LABELS = {
  kiosk: "自助机",
  web: "网页聊天",
  webchat: "网页聊天",
  telegram: "Telegram",
  rest: "接口",
};
const ROLE_LABELS = { user: "居民", bot: "智能助手", agent: "工作人员", system: "系统" };
const STATUS_LABELS = {
  waiting: "等待接手",
  queued: "等待接手",
  agent: "人工处理中",
  claimed: "人工处理中",
  with_agent: "人工处理中",
  bot: "智能助手处理中",
  closed: "已结束",
};
// Profile flag -> badge text; the order is the order shown.
const PROFILE_BADGES = [
  ["kiosk", "自助机"],
  ["screen_reader", "读屏"],
  ["telegram", "Telegram"],
  ["elder_mode", "长辈模式"],
];

const $ = (id) => document.getElementById(id);

const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  username: sessionStorage.getItem(NAME_KEY),
  waiting: [],
  mine: [],
  queueReceivedAt: 0, // performance.now() when waiting_s values were true
  current: null, // the open conversation, as the API returned it
  revealed: false,
  shownMessageIds: new Set(),
  unread: new Map(), // conversation_id -> count of messages not yet seen
  canned: [],
  socket: null,
  lastEventId: null, // stream id of the last push, to resume from after a drop (null: cannot)
  retries: 0,
  reconnectTimer: null,
  ticker: null,
};

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
    this.handled = false; // true once the agent has been told (e.g. session expired)
  }
}

const FALLBACK_MESSAGES = {
  0: "网络连不上，请检查网络后再试。",
  401: "登录已过期，请重新登录。",
  403: "没有权限做这件事。",
  404: "找不到这个对话，可能已经结束。",
  409: "操作冲突，请刷新后再试。",
};

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  const init = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, "network", FALLBACK_MESSAGES[0]);
  }
  let data = null;
  const text = await response.text();
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (response.ok) return data;
  const error = data && data.error ? data.error : {};
  const message = error.message || FALLBACK_MESSAGES[response.status] || "出了点问题，请稍后再试。";
  const apiError = new ApiError(response.status, error.code || `http_${response.status}`, message);
  // A 401 on anything but the login itself means the session is gone: say so, start over.
  if (response.status === 401 && path !== "/api/agent/login") {
    sessionExpired(message);
    apiError.handled = true;
  }
  throw apiError;
}

// Run a user action: clear the previous error, show this one's error if it fails.
async function attempt(action) {
  clearError();
  try {
    return await action();
  } catch (error) {
    if (error instanceof ApiError) {
      if (!error.handled) showError(error.message);
      return undefined;
    }
    showError("出了点问题，请稍后再试。");
    throw error;
  }
}

// ---------------------------------------------------------------- announcements

function showError(message) {
  const alert = $("error-alert");
  alert.textContent = message;
  // Screen readers hear it at once (role="alert"); sighted agents deep in the page
  // need to see it too. Focus stays where it was, so typing carries on.
  const box = alert.getBoundingClientRect();
  if (box.top < 0 || box.bottom > window.innerHeight) alert.scrollIntoView({ block: "nearest" });
}

function clearError() {
  $("error-alert").textContent = "";
}

// Appending (not replacing) makes repeated identical texts be read again.
function announce(message) {
  const region = $("announcer");
  const line = document.createElement("p");
  line.textContent = message;
  region.append(line);
  while (region.childElementCount > ANNOUNCEMENTS_KEPT) region.firstElementChild.remove();
}

function setConnection(stateName, message) {
  const status = $("connection-status");
  status.dataset.state = stateName;
  status.textContent = message;
  $("reconnect-button").hidden = stateName !== "retrying";
}

// ---------------------------------------------------------------- formatting

function label(table, value) {
  return table[value] || String(value ?? "");
}

function priorityLabel(value) {
  return label(PRIORITY_LABELS, value) || PRIORITY_LABELS.normal;
}

function priorityClass(value) {
  return Object.hasOwn(PRIORITY_LABELS, value) ? value : "normal";
}

function formatWaiting(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `已等 ${s} 秒`;
  const minutes = Math.floor(s / 60);
  if (minutes < 60) return `已等 ${minutes} 分钟`;
  const rest = minutes % 60;
  return `已等 ${Math.floor(minutes / 60)} 小时${rest ? ` ${rest} 分钟` : ""}`;
}

function formatTime(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "";
  return date.toLocaleTimeString("zh-CN", { hour: "2-digit", minute: "2-digit" });
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function hiddenText(text) {
  return element("span", "visually-hidden", text);
}

// ---------------------------------------------------------------- views

function showLoginView() {
  stopLive();
  $("queue-panel").hidden = true;
  $("conversation-view").hidden = true;
  $("idle-view").hidden = true;
  $("logout-button").hidden = true;
  $("agent-name").hidden = true;
  $("login-view").hidden = false;
  setConnection("offline", "尚未登录");
}

async function showWorkView() {
  $("login-view").hidden = true;
  $("queue-panel").hidden = false;
  $("logout-button").hidden = false;
  $("agent-name").hidden = !state.username;
  $("agent-name").textContent = state.username ? `工作人员：${state.username}` : "";
  if (!state.current) $("idle-view").hidden = false;
  connectSocket();
  startTicker();
  await Promise.all([refreshQueue(), loadCanned(), refreshCallbacks().catch(() => {})]);
}

function sessionExpired(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  closeConversation();
  showLoginView();
  showError(message || FALLBACK_MESSAGES[401]);
  $("login-username").focus();
}

// ---------------------------------------------------------------- login

async function onLogin(event) {
  event.preventDefault();
  const username = $("login-username").value.trim();
  const password = $("login-password").value;
  if (!username || !password) {
    showError("请填写用户名和密码。");
    $(username ? "login-password" : "login-username").focus();
    return;
  }
  await attempt(async () => {
    const data = await api("POST", "/api/agent/login", { username, password });
    state.token = data.token;
    state.username = username;
    sessionStorage.setItem(TOKEN_KEY, data.token);
    sessionStorage.setItem(NAME_KEY, username);
    $("login-password").value = "";
    // Focus moves as soon as the view is shown, not when the data is in: a late answer
    // must never pull focus back from where the agent has already tabbed to.
    const loading = showWorkView();
    $("queue-heading").focus();
    await loading;
  });
  // A failed login keeps the password field ready for a second try.
  if (!state.token) $("login-password").select();
}

function onLogout() {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = null;
  closeConversation();
  showLoginView();
  announce("已退出登录。");
  $("login-username").focus();
}

// ---------------------------------------------------------------- queue

async function refreshQueue() {
  const data = await api("GET", "/api/agent/queue");
  // GET /api/agent/queue → {items: waiting requests, claimed: this agent's conversations}
  setWaiting(data.items || []);
  state.mine = data.claimed || [];
  renderMine();
}

function setWaiting(items) {
  const known = new Set(state.waiting.map((item) => item.conversation_id));
  const arrived = items.filter((item) => !known.has(item.conversation_id));
  state.waiting = items;
  state.queueReceivedAt = performance.now();
  renderWaiting();
  return arrived;
}

function elapsedSince(receivedAt) {
  return (performance.now() - receivedAt) / 1000;
}

function profileBadges(profile) {
  const list = element("ul", "badges");
  list.setAttribute("aria-label", "居民情况");
  for (const [flag, text] of PROFILE_BADGES) {
    if (profile && profile[flag]) list.append(element("li", "badge", text));
  }
  list.hidden = list.childElementCount === 0;
  return list;
}

function queueSummary(item) {
  const reason = label(REASON_LABELS, item.reason);
  return `${priorityLabel(item.priority)}，${reason}，${label(CHANNEL_LABELS, item.channel)}`;
}

// Lists are rebuilt on every update; without this a keyboard user whose focus was on a
// button in the list would be thrown back to the top of the page.
function keepingFocus(listId, fallbackId, render) {
  const focused = document.activeElement;
  const inList = focused && $(listId).contains(focused) ? focused.dataset.focusKey : undefined;
  render();
  if (inList === undefined) return;
  const again = [...$(listId).querySelectorAll("[data-focus-key]")].find(
    (node) => node.dataset.focusKey === inList,
  );
  (again || $(fallbackId)).focus({ preventScroll: true });
}

function renderWaiting() {
  keepingFocus("waiting-list", "queue-heading", renderWaitingItems);
}

function renderWaitingItems() {
  const list = $("waiting-list");
  list.replaceChildren();
  for (const item of state.waiting) {
    const li = element("li", `queue-item priority-${priorityClass(item.priority)}`);
    const head = element("p", "item-head");
    const priority = element("span", `priority priority-${priorityClass(item.priority)}`);
    priority.textContent = `优先级：${priorityLabel(item.priority)}`;
    head.append(priority);
    if (item.position) head.append(element("span", "position", `第 ${item.position} 位`));
    li.append(head);
    li.append(element("p", "reason", `原因：${label(REASON_LABELS, item.reason)}`));
    li.append(element("p", "channel", `渠道：${label(CHANNEL_LABELS, item.channel)}`));
    const waited = element("p", "waiting", formatWaiting(item.waiting_s || 0));
    waited.dataset.waitingS = String(item.waiting_s || 0);
    li.append(waited);
    li.append(profileBadges(item.profile));
    const claim = element("button", "primary claim-button", "接手");
    claim.type = "button";
    claim.dataset.focusKey = item.conversation_id;
    // Every button says "接手": the hidden part tells screen-reader users which one.
    claim.append(hiddenText(`（${queueSummary(item)}）`));
    claim.addEventListener("click", () => claimConversation(item.conversation_id));
    li.append(claim);
    list.append(li);
  }
  $("waiting-count").textContent = `（${state.waiting.length}）`;
  $("waiting-empty").hidden = state.waiting.length > 0;
}

function renderMine() {
  keepingFocus("mine-list", "mine-heading", renderMineItems);
}

function renderMineItems() {
  const list = $("mine-list");
  list.replaceChildren();
  for (const item of state.mine) {
    const li = element("li", "queue-item mine-item");
    const open = element("button", "secondary open-button");
    open.type = "button";
    open.dataset.focusKey = item.conversation_id;
    const what = `${label(CHANNEL_LABELS, item.channel)}，${label(REASON_LABELS, item.reason)}`;
    open.append(element("span", "", `打开对话：${what}`));
    const unread = state.unread.get(item.conversation_id) || 0;
    if (unread) open.append(element("span", "unread", `${unread} 条新消息`));
    if (state.current && state.current.id === item.conversation_id) {
      open.setAttribute("aria-current", "true");
    }
    open.addEventListener("click", () => attempt(() => openConversation(item.conversation_id)));
    li.append(profileBadges(item.profile));
    li.append(open);
    list.append(li);
  }
  $("mine-count").textContent = `（${state.mine.length}）`;
  $("mine-empty").hidden = state.mine.length > 0;
}

// Waiting times move on between server updates; counted from when the list arrived.
function tick() {
  const extra = elapsedSince(state.queueReceivedAt);
  for (const node of document.querySelectorAll("#waiting-list .waiting")) {
    const text = formatWaiting(Number(node.dataset.waitingS) + extra);
    if (node.textContent !== text) node.textContent = text;
  }
}

function startTicker() {
  if (state.ticker === null) state.ticker = setInterval(tick, 1000);
}

async function claimConversation(conversationId) {
  await attempt(async () => {
    try {
      await api("POST", `/api/agent/conversations/${encodeURIComponent(conversationId)}/claim`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) {
        // Someone was faster: say so (role="alert") and show the queue as it is now.
        showError("这个对话已被其他工作人员接手。");
        await refreshQueue().catch(() => undefined);
        $("queue-heading").focus();
        return;
      }
      throw error;
    }
    await refreshQueue();
    await openConversation(conversationId);
    announce("已接手这个对话。");
  });
}

// ---------------------------------------------------------------- conversation

async function openConversation(conversationId) {
  const data = await api("GET", `/api/agent/conversations/${encodeURIComponent(conversationId)}`);
  state.revealed = false;
  state.unread.delete(conversationId);
  showConversation(data);
  renderMine();
  $("conversation-heading").focus();
}

function showConversation(data) {
  state.current = data;
  $("idle-view").hidden = true;
  $("conversation-view").hidden = false;
  $("conversation-heading").textContent = `与居民的对话（${label(CHANNEL_LABELS, data.channel)}）`;
  $("conversation-meta").textContent = `对话编号：${data.id} · 状态：${label(STATUS_LABELS, (data.handoff || {}).status)}`;
  const badges = profileBadges(data.profile);
  badges.id = "profile-badges";
  $("profile-badges").replaceWith(badges);
  $("reveal-notice").textContent = state.revealed ? "已显示完整号码。这次查看已记入审计日志。" : "";
  renderTranscript(data.messages || []);
  renderNotes(data.notes || []);
}

function closeConversation() {
  state.current = null;
  state.revealed = false;
  state.shownMessageIds.clear();
  $("conversation-view").hidden = true;
  $("reply-text").value = "";
  $("note-text").value = "";
}

function messageItem(message) {
  const role = ROLE_LABELS[message.role] ? message.role : "system";
  const li = element("li", `message message-${role}`);
  if (message.low_confidence) li.classList.add("low-confidence");
  const who = element("p", "who");
  who.append(element("span", "role", ROLE_LABELS[role]));
  const when = formatTime(message.created_at);
  if (when) {
    const time = element("time", "time", when);
    time.dateTime = message.created_at;
    who.append(time);
  }
  li.append(who);
  li.append(element("p", "text", message.text ?? ""));
  if (message.low_confidence) {
    // Text and icon, not colour alone; the icon itself is decoration.
    const mark = element("p", "uncertain");
    const icon = element("span", "icon", "⚠");
    icon.setAttribute("aria-hidden", "true");
    mark.append(icon, "（识别不确定）");
    if (typeof message.asr_confidence === "number") {
      mark.append(` 识别把握 ${Math.round(message.asr_confidence * 100)}%`);
    }
    li.append(mark);
  }
  return li;
}

function renderTranscript(messages) {
  state.shownMessageIds = new Set(messages.map((m) => m.id));
  $("transcript").replaceChildren(...messages.map(messageItem));
  scrollTranscriptToEnd(true);
}

function appendMessage(message) {
  if (state.shownMessageIds.has(message.id)) return false;
  state.shownMessageIds.add(message.id);
  const scroller = $("transcript-scroll");
  const atEnd = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 40;
  $("transcript").append(messageItem(message));
  scrollTranscriptToEnd(atEnd);
  return true;
}

// Follow new messages only when the agent was already at the end (not reading back).
function scrollTranscriptToEnd(follow) {
  if (follow) {
    const scroller = $("transcript-scroll");
    scroller.scrollTop = scroller.scrollHeight;
  }
}

function renderNotes(notes) {
  const list = $("notes-list");
  list.replaceChildren();
  for (const note of notes) appendNote(note);
  $("notes-empty").hidden = notes.length > 0;
}

function appendNote(note) {
  const li = element("li", "note");
  const who = element("p", "who");
  who.append(element("span", "role", `内部备注 · ${note.agent || state.username || ""}`));
  const when = formatTime(note.created_at);
  if (when) who.append(element("time", "time", when));
  li.append(who, element("p", "text", note.text ?? ""));
  $("notes-list").append(li);
  $("notes-empty").hidden = true;
}

function conversationPath(suffix) {
  return `/api/agent/conversations/${encodeURIComponent(state.current.id)}${suffix}`;
}

async function onReveal() {
  if (!state.current) return;
  await attempt(async () => {
    const data = await api("POST", conversationPath("/reveal"));
    state.revealed = true;
    showConversation(data);
  });
}

async function onReply(event) {
  event.preventDefault();
  if (!state.current) return;
  const box = $("reply-text");
  const text = box.value.trim();
  if (!text) {
    showError("回复是空的，请先写内容。");
    box.focus();
    return;
  }
  await attempt(async () => {
    const data = await api("POST", conversationPath("/messages"), { text });
    box.value = "";
    const message = data && (data.message || data);
    if (message && message.id !== undefined && message.role) appendMessage(message);
    else showConversation(await api("GET", conversationPath("")));
    announce("回复已发送。");
  });
  box.focus();
}

function onReplyKey(event) {
  // Ctrl+Enter (Cmd+Enter on a Mac) sends; plain Enter keeps making new lines.
  if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
    event.preventDefault();
    $("reply-form").requestSubmit();
  }
}

async function onNote(event) {
  event.preventDefault();
  if (!state.current) return;
  const box = $("note-text");
  const text = box.value.trim();
  if (!text) {
    showError("备注是空的，请先写内容。");
    box.focus();
    return;
  }
  await attempt(async () => {
    const data = await api("POST", conversationPath("/notes"), { text });
    box.value = "";
    const note = data && (data.note || data);
    if (note && note.text) appendNote(note);
    else showConversation(await api("GET", conversationPath("")));
    announce("内部备注已保存，居民看不到。");
  });
}

async function finishConversation(suffix, message) {
  if (!state.current) return;
  await attempt(async () => {
    const id = state.current.id;
    await api("POST", conversationPath(suffix));
    state.unread.delete(id);
    state.mine = state.mine.filter((item) => item.conversation_id !== id);
    closeConversation();
    $("idle-view").hidden = false;
    renderMine();
    announce(message);
    $("idle-heading").focus();
    await refreshQueue();
  });
}

// ---------------------------------------------------------------- canned replies

async function loadCanned() {
  const data = await api("GET", "/api/agent/canned-replies");
  renderCanned((data && data.replies) || []);
}

function renderCanned(replies) {
  state.canned = replies;
  const list = $("canned-list");
  list.replaceChildren();
  for (const reply of replies) {
    const li = element("li");
    const button = element("button", "secondary canned-button", reply);
    button.type = "button";
    button.addEventListener("click", () => useCanned(reply));
    li.append(button);
    list.append(li);
  }
}

function useCanned(reply) {
  const box = $("reply-text");
  box.value = reply;
  box.focus();
  box.setSelectionRange(reply.length, reply.length);
}

function toggleCannedEditor(open) {
  $("canned-editor").hidden = !open;
  $("canned-edit-button").setAttribute("aria-expanded", String(open));
  if (open) {
    $("canned-text").value = state.canned.join("\n");
    $("canned-text").focus();
  }
}

async function onCannedSave(event) {
  event.preventDefault();
  const replies = $("canned-text")
    .value.split("\n")
    .map((line) => line.trim())
    .filter(Boolean);
  await attempt(async () => {
    const data = await api("PUT", "/api/agent/canned-replies", { replies });
    renderCanned((data && data.replies) || replies);
    toggleCannedEditor(false);
    announce("常用回复已保存。");
    $("canned-edit-button").focus();
  });
}

// ---------------------------------------------------------------- live updates

// A reconnect passes the last push's stream id as `after`: the server then opens with
// {type: "resumed"} and replays what was missed, or, when it cannot, with the queue
// snapshot marked resync: true, and the rest is re-read over HTTP (see channels/agent_ws.py).
function socketUrl(after) {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const resume = after ? `&after=${encodeURIComponent(after)}` : "";
  return `${scheme}//${location.host}/ws/agent?token=${encodeURIComponent(state.token)}${resume}`;
}

function connectSocket() {
  clearTimeout(state.reconnectTimer);
  state.reconnectTimer = null;
  if (state.socket || !state.token) return;
  const resumeFrom = state.retries > 0 ? state.lastEventId : null;
  const socket = new WebSocket(socketUrl(resumeFrom));
  state.socket = socket;
  let first = true;
  if (state.retries === 0) setConnection("connecting", "正在连接实时更新…");
  socket.addEventListener("open", () => {
    const wasRetrying = state.retries > 0;
    state.retries = 0;
    setConnection("online", "已连接，队列和消息实时更新。");
    // Nothing to resume from: what was sent while we were away is lost, fetch it once.
    if (wasRetrying && !resumeFrom) catchUp();
  });
  socket.addEventListener("message", (event) => {
    let data;
    try {
      data = JSON.parse(event.data);
    } catch {
      return;
    }
    // Asked to resume, but the server could not replay (data.resync): re-read instead.
    if (first && resumeFrom && data.type !== "resumed") catchUp();
    first = false;
    if ("id" in data) state.lastEventId = data.id;
    handleEvent(data);
  });
  socket.addEventListener("close", (event) => {
    if (state.socket !== socket) return; // closed on purpose (logout)
    state.socket = null;
    // 4401/1008: the server refused the token; reconnecting would not help.
    if (event.code === 4401 || event.code === 1008) {
      sessionExpired();
      return;
    }
    scheduleReconnect();
  });
}

function scheduleReconnect() {
  const delay = Math.min(MAX_BACKOFF_S, 2 ** state.retries);
  state.retries += 1;
  setConnection(
    "retrying",
    `实时连接断开了，${delay} 秒后第 ${state.retries} 次重新连接。在此期间队列不会自动更新。`,
  );
  state.reconnectTimer = setTimeout(connectSocket, delay * 1000);
  // A handshake refused for a stale token looks like a network drop from here: ask the
  // API, whose 401 sends the agent back to the login form instead of retrying forever.
  refreshQueue().catch(() => undefined);
}

async function catchUp() {
  try {
    await refreshQueue();
    if (state.current) {
      const data = await api("GET", conversationPath(""));
      const fresh = (data.messages || []).filter((m) => !state.shownMessageIds.has(m.id));
      for (const message of fresh) appendMessage(message);
    }
  } catch {
    // The status line already says what is going on; a 401 was handled by api().
  }
}

function stopLive() {
  clearTimeout(state.reconnectTimer);
  state.reconnectTimer = null;
  state.retries = 0;
  state.lastEventId = null;
  if (state.socket) {
    const socket = state.socket;
    state.socket = null;
    socket.close();
  }
  clearInterval(state.ticker);
  state.ticker = null;
}

function handleEvent(event) {
  if (event.type === "queue") onQueueEvent(event.items || []);
  else if (event.type === "message") onMessageEvent(event.conversation_id, event.message || {});
  else if (event.type === "claimed") onClaimedEvent(event.conversation_id, event.agent);
}

function onQueueEvent(items) {
  const arrived = setWaiting(items);
  if (arrived.length === 1) announce(`新的转人工请求：${queueSummary(arrived[0])}。`);
  else if (arrived.length > 1) announce(`有 ${arrived.length} 个新的转人工请求。`);
}

function onMessageEvent(conversationId, message) {
  if (state.current && state.current.id === conversationId) {
    if (appendMessage(message) && message.role !== "agent") {
      announce(`${label(ROLE_LABELS, message.role)}说：${message.text ?? ""}`);
    }
    return;
  }
  const item = state.mine.find((m) => m.conversation_id === conversationId);
  if (item && message.role === "user") {
    state.unread.set(conversationId, (state.unread.get(conversationId) || 0) + 1);
    renderMine();
    announce(`另一个对话有新消息（${label(CHANNEL_LABELS, item.channel)}）。`);
  }
}

function onClaimedEvent(conversationId, agent) {
  const before = state.waiting.length;
  state.waiting = state.waiting.filter((item) => item.conversation_id !== conversationId);
  if (state.waiting.length === before) return;
  renderWaiting();
  if (agent && agent !== state.username) announce(`一个等待中的对话已由 ${agent} 接手。`);
}

// ---------------------------------------------------------------- call-back list

// Residents due for authentication who can only be reached by phone (reminder job).
// GET /api/agent/callbacks → {items: [{id, due_date, phone (masked), listed_at}]}
let callbacks = [];

async function refreshCallbacks() {
  const data = await api("GET", "/api/agent/callbacks");
  callbacks = data.items || [];
  keepingFocus("callbacks-list", "callbacks-heading", renderCallbackItems);
}

function formatDate(iso) {
  const [year, month, day] = iso.split("-").map(Number);
  return `${year}年${month}月${day}日`;
}

function renderCallbackItems() {
  const list = $("callbacks-list");
  list.replaceChildren();
  for (const item of callbacks) {
    const due = formatDate(item.due_date);
    const li = element("li", "queue-item");
    li.append(element("p", "item-head", `认证到期：${due}`));
    const phone = element("p", "phone", `电话：${item.phone}`);
    li.append(phone);
    const reveal = element("button", "secondary", "显示完整号码");
    reveal.type = "button";
    reveal.dataset.focusKey = `reveal-${item.id}`;
    reveal.append(hiddenText(`（${due}到期的居民）`));
    reveal.addEventListener("click", () => revealCallback(item.id, phone));
    const called = element("button", "primary", "已回电");
    called.type = "button";
    called.dataset.focusKey = `called-${item.id}`;
    called.append(hiddenText(`（${due}到期的居民）`));
    called.addEventListener("click", () => markCalled(item.id));
    li.append(reveal, called);
    list.append(li);
  }
  $("callbacks-count").textContent = `（${callbacks.length}）`;
  $("callbacks-empty").hidden = callbacks.length > 0;
}

async function revealCallback(id, phoneLine) {
  await attempt(async () => {
    const data = await api("POST", `/api/agent/callbacks/${encodeURIComponent(id)}/reveal`);
    phoneLine.textContent = `电话：${data.phone}`;
    announce("已显示完整号码，这次查看已记录。");
  });
}

async function markCalled(id) {
  await attempt(async () => {
    await api("POST", `/api/agent/callbacks/${encodeURIComponent(id)}/called`);
    announce("已记为回过电话。");
    await refreshCallbacks();
  });
}

// ---------------------------------------------------------------- start

function start() {
  $("login-form").addEventListener("submit", onLogin);
  $("logout-button").addEventListener("click", onLogout);
  $("reconnect-button").addEventListener("click", () => {
    state.retries = Math.max(state.retries, 1); // so "open" fetches what was missed
    connectSocket();
  });
  $("reveal-button").addEventListener("click", onReveal);
  $("reply-form").addEventListener("submit", onReply);
  $("reply-text").addEventListener("keydown", onReplyKey);
  $("note-form").addEventListener("submit", onNote);
  $("handback-button").addEventListener("click", () =>
    finishConversation("/handback", "已交回智能助手。"),
  );
  $("close-button").addEventListener("click", () => finishConversation("/close", "对话已结束。"));
  $("canned-edit-button").addEventListener("click", () =>
    toggleCannedEditor($("canned-editor").hidden),
  );
  $("canned-cancel-button").addEventListener("click", () => {
    toggleCannedEditor(false);
    $("canned-edit-button").focus();
  });
  $("canned-editor").addEventListener("submit", onCannedSave);
  $("callbacks-refresh").addEventListener("click", () =>
    attempt(async () => {
      await refreshCallbacks();
      announce(`回电名单已刷新，共 ${callbacks.length} 位。`);
    }),
  );

  if (state.token) attempt(showWorkView);
  else showLoginView();
}

start();
