// 差评件: an agent's 差评必改 cases. Uses the console's login (same tab, sessionStorage) and
// the case API (/api/agent/cases...). Plain DOM, no framework, no inline script (CSP).
// Keyboard only works everywhere: every control is a real button or link, focus moves to
// the heading of what was opened, and results are announced in the polite live region.

const TOKEN_KEY = "agentConsole.token";
const $ = (id) => document.getElementById(id);

const STATE_WORDS = {
  open: "待回电",
  called_back: "已回电，待整改",
  fixed: "已整改",
  explained: "已解释说明",
  closed: "已结案",
};
const URGENCY_WORDS = { ok: "期限内", due_soon: "快到期限", overdue: "已超期" };
const TASK_WORDS = {
  pension_auth: "养老金认证",
  auth_status: "查认证情况",
  service_lookup: "办事指南",
};
const ROLE_WORDS = { user: "居民", bot: "智能助手", agent: "工作人员" };

let current = null; // the open case's detail

function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

function announce(message) {
  const region = $("announcer");
  region.textContent = "";
  window.setTimeout(() => {
    region.textContent = message;
  }, 50);
}

function showError(message) {
  $("error-alert").textContent = message;
}

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${token()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  if (response.status === 401) {
    showLoginNeeded();
    throw new Error("unauthorized");
  }
  if (!response.ok) {
    const message = (data.error && data.error.message) || "出了点问题，请再试一次。";
    showError(message);
    throw new Error(message);
  }
  $("error-alert").textContent = "";
  return data;
}

function when(iso) {
  if (!iso) return "—";
  return new Date(iso).toLocaleString("zh-CN", { hour12: false });
}

function show(id) {
  for (const view of ["login-needed", "idle-view", "case-view"]) $(view).hidden = view !== id;
}

function showLoginNeeded() {
  $("cases-panel").hidden = true;
  show("login-needed");
}

function caseTitle(item) {
  const what = item.subject === "agent" ? "工作人员服务" : TASK_WORDS[item.task] || "智能助手服务";
  return `第${item.id}号 · ${what} · ${item.level_words || ""}`;
}

function renderList(listId, items, mine) {
  const list = $(listId);
  list.replaceChildren();
  for (const item of items) {
    const li = document.createElement("li");
    const title = document.createElement("p");
    title.className = "case-title";
    title.textContent = caseTitle(item);
    const status = document.createElement("p");
    status.textContent = `${STATE_WORDS[item.state] || item.state} · `;
    const urgency = document.createElement("span");
    urgency.className = "urgency";
    urgency.dataset.urgency = item.urgency;
    urgency.textContent = URGENCY_WORDS[item.urgency] || item.urgency;
    status.append(urgency);
    const due = document.createElement("p");
    due.textContent = item.called_back_at
      ? `整改期限：${when(item.fix_due_at)}`
      : `回电期限：${when(item.callback_due_at)}`;
    const button = document.createElement("button");
    button.type = "button";
    button.className = mine ? "secondary" : "primary";
    button.textContent = mine ? "打开" : "由我负责";
    button.setAttribute("aria-label", `${button.textContent}：${caseTitle(item)}`);
    button.addEventListener("click", () => (mine ? openCase(item.id) : takeCase(item.id)));
    li.append(title, status, due, button);
    list.append(li);
  }
}

async function loadList() {
  const data = await api("GET", "/api/agent/cases");
  renderList("mine-list", data.mine, true);
  renderList("open-list", data.unassigned, false);
  $("mine-count").textContent = `（${data.mine.length}）`;
  $("open-count").textContent = `（${data.unassigned.length}）`;
  $("mine-empty").hidden = data.mine.length > 0;
  $("open-empty").hidden = data.unassigned.length > 0;
  $("cases-panel").hidden = false;
  return data;
}

function fact(dl, term, value) {
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  dd.textContent = value;
  dl.append(dt, dd);
}

function renderCase(detail) {
  current = detail;
  const c = detail.case;
  $("case-heading").textContent = caseTitle(c);
  const facts = $("case-facts");
  facts.replaceChildren();
  fact(facts, "状态", STATE_WORDS[c.state] || c.state);
  fact(facts, "期限", URGENCY_WORDS[c.urgency] || c.urgency);
  fact(facts, "问题类型", c.complexity === "complex" ? "复杂（72小时）" : "简单（24小时）");
  fact(facts, "收到差评", when(c.opened_at));
  fact(facts, "回电期限", when(c.callback_due_at));
  fact(facts, "整改期限", when(c.fix_due_at));
  fact(facts, "渠道", c.channel);
  fact(facts, "已告诉居民", c.resident_told_at ? when(c.resident_told_at) : "还没有");
  fact(facts, "居民追评", c.followup_level ? `${c.followup_level}分（满分5分）` : "还没有");
  $("case-reason").textContent = detail.reason || "居民没有说原因。";

  const steps = $("case-steps");
  steps.replaceChildren();
  for (const step of detail.steps) {
    const li = document.createElement("li");
    const who = step.agent ? `${step.agent}：` : "";
    const note = step.note ? `（${step.note}）` : "";
    li.textContent = `${when(step.created_at)} ${who}${STATE_WORDS[step.to_state] || step.to_state}${note}`;
    steps.append(li);
  }

  const transcript = $("transcript");
  transcript.replaceChildren();
  for (const message of detail.transcript) {
    if (!message.text) continue;
    const li = document.createElement("li");
    const who = document.createElement("span");
    who.className = "who";
    who.textContent = `${ROLE_WORDS[message.role] || message.role}：`;
    li.append(who, document.createTextNode(message.text));
    transcript.append(li);
  }

  const open = c.state === "open";
  const calledBack = c.state === "called_back";
  const resolved = c.state === "fixed" || c.state === "explained";
  $("called-back-button").hidden = !open;
  $("resolve-form").hidden = !calledBack;
  $("close-case-button").hidden = !resolved;
  $("complex-button").hidden = !(open || calledBack) || c.complexity === "complex";
  $("simple-button").hidden = !(open || calledBack) || c.complexity !== "complex";
  $("actions-none").hidden = c.state !== "closed";
  show("case-view");
}

async function openCase(id) {
  renderCase(await api("GET", `/api/agent/cases/${id}`));
  $("case-heading").focus();
  announce(`已打开${$("case-heading").textContent}。`);
}

async function takeCase(id) {
  await api("POST", `/api/agent/cases/${id}/take`);
  await loadList();
  await openCase(id);
}

async function step(to, note) {
  const body = note === undefined ? { to } : { to, note };
  const detail = await api("POST", `/api/agent/cases/${current.case.id}/steps`, body);
  renderCase(detail);
  await loadList();
  $("case-heading").focus();
  announce(`已记下：${STATE_WORDS[to]}。`);
}

async function complexity(value) {
  const detail = await api("POST", `/api/agent/cases/${current.case.id}/complexity`, {
    complexity: value,
  });
  renderCase(detail);
  $("actions-heading").scrollIntoView();
  (value === "complex" ? $("simple-button") : $("complex-button")).focus();
  announce(`已改为${value === "complex" ? "复杂" : "简单"}问题，整改期限${when(detail.case.fix_due_at)}。`);
}

function ignoreHandled(promise) {
  // Errors were shown in the alert region already.
  promise.catch(() => {});
}

function init() {
  if (!token()) {
    showLoginNeeded();
    return;
  }
  $("refresh-button").addEventListener("click", () =>
    ignoreHandled(loadList().then((data) => announce(`差评件已刷新，我负责的有${data.mine.length}件。`))),
  );
  $("called-back-button").addEventListener("click", () => ignoreHandled(step("called_back")));
  $("close-case-button").addEventListener("click", () => ignoreHandled(step("closed")));
  $("complex-button").addEventListener("click", () => ignoreHandled(complexity("complex")));
  $("simple-button").addEventListener("click", () => ignoreHandled(complexity("simple")));
  $("resolve-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("resolve-text").value.trim();
    if (!text) {
      showError("请写一句告诉居民的处理结果。");
      $("resolve-text").focus();
      return;
    }
    const to = event.submitter && event.submitter.value === "explained" ? "explained" : "fixed";
    ignoreHandled(step(to, text).then(() => ($("resolve-text").value = "")));
  });
  show("idle-view");
  ignoreHandled(loadList());
}

init();
