// The supervisors' page: log in, read the dashboard (server-side SVG charts, each with
// its table), download it as CSV, and review the utterances the bot missed.
// Talks to /api/agent/login and /api/admin/*; no framework, no network beyond this origin.

const TOKEN_KEY = "admin.token";
const NAME_KEY = "admin.username";
const KIND_WORDS = { fallback: "没听懂", handoff: "转了人工", low_confidence: "没听清" };
const REASON_WORDS = {
  user_request: "居民要求转人工",
  emergency: "紧急情况",
  complaint: "投诉",
  not_understood: "听不懂",
  no_progress: "三次没办成",
};

const $ = (id) => document.getElementById(id);
const state = {
  token: sessionStorage.getItem(TOKEN_KEY),
  username: sessionStorage.getItem(NAME_KEY),
  intents: [],
};

function announce(text) {
  const region = $("announcer");
  region.textContent = "";
  // A fresh text node after a tick is read out even when the words repeat.
  setTimeout(() => {
    region.textContent = text;
  }, 50);
}

function showError(text) {
  $("error-alert").textContent = text || "";
}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function api(path, options = {}) {
  const headers = { ...(options.headers || {}) };
  if (state.token) headers.Authorization = `Bearer ${state.token}`;
  if (options.json !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method: options.method || "GET",
    headers,
    body: options.json !== undefined ? JSON.stringify(options.json) : undefined,
  });
  if (response.status === 401) {
    forget();
    showLogin();
    throw new ApiError(401, "登录已过期，请重新登录。");
  }
  if (!response.ok) {
    let message = "出了点问题，请稍后再试。";
    try {
      message = (await response.json()).error.message || message;
    } catch (_) {
      /* keep the general message */
    }
    throw new ApiError(response.status, message);
  }
  return response;
}

function forget() {
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(NAME_KEY);
  state.token = null;
  state.username = null;
}

function showLogin() {
  $("admin-view").hidden = true;
  $("logout-button").hidden = true;
  $("agent-name").hidden = true;
  $("login-view").hidden = false;
}

function showAdmin() {
  $("login-view").hidden = true;
  $("admin-view").hidden = false;
  $("logout-button").hidden = false;
  $("agent-name").hidden = false;
  $("agent-name").textContent = `主管：${state.username || ""}`;
}

// ------------------------------------------------------------------ dashboard

function filterQuery() {
  const params = new URLSearchParams();
  for (const name of ["start", "end", "granularity", "channel"]) {
    const value = $(`filter-${name}`).value;
    if (value) params.set(name, value);
  }
  return params.toString();
}

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

function renderTable(table, id) {
  const box = el("div", { class: "table-box" });
  const t = el("table", { id: `${id}-table` });
  t.append(el("caption", {}, `${table.caption}（数字表）`));
  const head = el("thead");
  const headRow = el("tr");
  headRow.append(el("th", { scope: "col" }, table.row_header));
  for (const column of table.columns) headRow.append(el("th", { scope: "col" }, column));
  head.append(headRow);
  const body = el("tbody");
  for (const row of table.rows) {
    const tr = el("tr");
    tr.append(el("th", { scope: "row" }, row.label));
    for (const cell of row.cells) tr.append(el("td", {}, cell.text));
    body.append(tr);
  }
  t.append(head, body);
  box.append(t);
  return box;
}

function renderSvg(markup) {
  // Server-made SVG (every text escaped there); parsed as SVG, never as HTML.
  const doc = new DOMParser().parseFromString(markup, "image/svg+xml");
  return document.importNode(doc.documentElement, true);
}

function renderDashboard(data) {
  $("filter-start").value = data.start;
  $("filter-end").value = data.end;
  $("filter-granularity").value = data.granularity;
  const channel = $("filter-channel");
  const chosen = data.channel || "";
  channel.replaceChildren(el("option", { value: "" }, "全部渠道"));
  for (const name of data.channels) channel.append(el("option", { value: name }, name));
  channel.value = chosen;

  const charts = $("charts");
  charts.replaceChildren();
  for (const chart of data.charts) {
    const section = el("section", { class: "figure", id: `figure-${chart.id}`, "aria-labelledby": `heading-${chart.id}` });
    section.append(el("h3", { id: `heading-${chart.id}` }, chart.title));
    section.append(el("p", { class: "note" }, chart.note));
    const box = el("div", { class: "chart-box" });
    box.append(renderSvg(chart.svg));
    section.append(box, renderTable(chart.table, chart.id));
    charts.append(section);
  }
}

async function loadDashboard(query) {
  const response = await api(`/api/admin/dashboard${query ? `?${query}` : ""}`);
  renderDashboard(await response.json());
}

async function downloadCsv() {
  showError("");
  try {
    const response = await api(`/api/admin/dashboard.csv?${filterQuery()}`);
    const blob = await response.blob();
    const link = el("a", { href: URL.createObjectURL(blob), download: `dashboard-${$("filter-start").value}-${$("filter-end").value}.csv` });
    document.body.append(link);
    link.click();
    link.remove();
    announce("表格已下载。");
  } catch (err) {
    showError(err.message);
  }
}

// ------------------------------------------------------------------ review

function intentSelect(id) {
  const select = el("select", { id });
  select.append(el("option", { value: "" }, "请选择意图"));
  for (const intent of state.intents) select.append(el("option", { value: intent }, intent));
  return select;
}

function renderCandidate(candidate) {
  const li = el("li", { id: `candidate-${candidate.id}`, "data-id": String(candidate.id) });
  li.append(el("p", { class: "said" }, `“${candidate.text}”`));
  const kind = KIND_WORDS[candidate.kind] || candidate.kind;
  const reason = candidate.reason ? `（${REASON_WORDS[candidate.reason] || candidate.reason}）` : "";
  const when = new Date(candidate.created_at).toLocaleString("zh-CN");
  li.append(el("p", { class: "meta" }, `${kind}${reason} · ${candidate.channel} · ${when} · 对话 ${candidate.conversation_id}`));
  if (candidate.resolution.length) {
    li.append(el("p", {}, "工作人员是这样处理的："));
    const list = el("ul");
    for (const text of candidate.resolution) list.append(el("li", {}, text));
    li.append(list);
  }
  const intentId = `intent-${candidate.id}`;
  const textId = `text-${candidate.id}`;
  const intentField = el("div", { class: "field" });
  intentField.append(el("label", { for: intentId }, "意图"), intentSelect(intentId));
  const textField = el("div", { class: "field" });
  const input = el("input", { id: textId, type: "text", maxlength: "200" });
  input.value = candidate.text;
  textField.append(el("label", { for: textId }, "训练用的话（号码会自动隐去）"), input);
  const buttons = el("div", { class: "buttons" });
  const accept = el("button", { type: "button", class: "primary" }, "采用");
  accept.setAttribute("aria-describedby", `candidate-${candidate.id}`);
  const drop = el("button", { type: "button", class: "secondary" }, "不用");
  accept.addEventListener("click", () => decide(candidate.id, "accept"));
  drop.addEventListener("click", () => decide(candidate.id, "drop"));
  buttons.append(accept, drop);
  li.append(intentField, textField, buttons);
  return li;
}

async function loadReview() {
  const data = await (await api("/api/admin/candidates")).json();
  state.intents = data.intents;
  $("pending-count").textContent = `（${data.pending}）`;
  $("review-empty").hidden = data.candidates.length > 0;
  $("review-list").replaceChildren(...data.candidates.map(renderCandidate));
}

async function decide(id, decision) {
  showError("");
  const item = $(`candidate-${id}`);
  const next = item.nextElementSibling;
  try {
    if (decision === "accept") {
      const intent = $(`intent-${id}`).value;
      if (!intent) {
        showError("请先选择意图。");
        $(`intent-${id}`).focus();
        return;
      }
      await api(`/api/admin/candidates/${id}/accept`, { method: "POST", json: { intent, text: $(`text-${id}`).value } });
      announce(`已采用，意图是 ${intent}。`);
    } else {
      await api(`/api/admin/candidates/${id}/drop`, { method: "POST" });
      announce("已经不用了。");
    }
    const nextId = next ? next.dataset.id : null;
    await loadReview();
    const target = nextId ? $(`intent-${nextId}`) : $("review-heading");
    (target || $("review-heading")).focus();
  } catch (err) {
    showError(err.message);
  }
}

async function exportReviewed() {
  showError("");
  try {
    const result = await (await api("/api/admin/reviewed/export", { method: "POST" })).json();
    $("export-result").textContent = result.written
      ? `已导出 ${result.examples} 句到 ${result.file}。下次训练时会用上。`
      : "还没有采用的话，没有导出。";
  } catch (err) {
    showError(err.message);
  }
}

// ------------------------------------------------------------------ start

async function enter() {
  try {
    await loadDashboard("");
  } catch (err) {
    if (err.status === 403) {
      forget();
      showLogin();
      showError(err.message);
      $("login-username").focus();
      return;
    }
    throw err;
  }
  showAdmin();
  await loadReview();
  announce("数据看板已打开。");
  $("dashboard-heading").focus();
}

async function login(event) {
  event.preventDefault();
  showError("");
  const username = $("login-username").value.trim();
  const password = $("login-password").value;
  if (!username || !password) {
    showError("请填写用户名和密码。");
    (username ? $("login-password") : $("login-username")).focus();
    return;
  }
  try {
    const response = await fetch("/api/agent/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
    if (!response.ok) {
      showError(response.status === 401 ? "用户名或密码不对。" : "登录没有成功，请稍后再试。");
      $("login-password").select();
      return;
    }
    const data = await response.json();
    state.token = data.token;
    state.username = data.agent;
    sessionStorage.setItem(TOKEN_KEY, data.token);
    sessionStorage.setItem(NAME_KEY, data.agent);
    $("login-password").value = "";
    await enter();
  } catch (err) {
    showError(err.message);
  }
}

async function logout() {
  try {
    await api("/api/agent/logout", { method: "POST" });
  } catch (_) {
    /* the token is forgotten here anyway */
  }
  forget();
  showLogin();
  $("login-username").focus();
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", login);
  $("logout-button").addEventListener("click", logout);
  $("filter-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    showError("");
    try {
      await loadDashboard(filterQuery());
      announce("数据已更新。");
    } catch (err) {
      showError(err.message);
    }
  });
  $("csv-button").addEventListener("click", downloadCsv);
  $("export-button").addEventListener("click", exportReviewed);
  if (state.token) {
    enter().catch((err) => showError(err.message));
  } else {
    showLogin();
  }
});
