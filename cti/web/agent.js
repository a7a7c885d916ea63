/* ctid agent desktop: sign in, follow the agent's state, show screen-pops as they arrive.
 * A supervisor or admin who signs in gets the supervisor view instead: the agents of their
 * teams and the calls waiting, from the same API, polled.
 *
 * Talks to ctid over two channels of the same host:
 *   - the HTTP API of the page's own origin: POST /api/login and /api/logout, GET /api/reasons
 *     (the not-ready reason codes), GET /api/agents (the agent's state, polled), GET /api/queue
 *     (supervisors), POST /api/agents/<id>/login|pause|unpause (used when the socket is down);
 *   - the push WebSocket, whose port /web-config.json names: the first frame is auth, then the
 *     server pushes screen-pops and answers each request (ack / error, matched by id).
 * A lost socket is reopened with exponential backoff (1 s doubling to 30 s, with jitter), asking
 * /web-config.json again each time, so a restarted ctid on another port is found.
 * Everything the server sends is written with textContent: no HTML from the wire.
 */
(function () {
  "use strict";

  const STATE_LABELS = {
    "logged-out": "未签入 Logged out",
    "ready": "就绪 Ready",
    "reserved": "来电分配中 Call coming",
    "ringing": "振铃 Ringing",
    "busy": "通话中 On a call",
    "after-call-work": "话后整理 Wrap-up",
    "not-ready": "未就绪 Not ready",
  };
  // Which button makes sense in which state (as the agent state machine allows).
  const READY_FROM = new Set(["logged-out", "not-ready"]);
  const NOT_READY_FROM = new Set(["ready", "after-call-work", "not-ready"]);
  const RECENT_MAX = 10;
  const BACKOFF_MIN_MS = 1000;
  const BACKOFF_MAX_MS = 30000;
  const REQUEST_TIMEOUT_MS = 10000;
  const POLL_MS = 5000;
  const SESSION_KEY = "ctid.session";

  const $ = (id) => document.getElementById(id);
  let session = null;        // {token, agentId, user, role}
  let reasonLabels = {};     // code -> "中文 English"
  let agent = null;          // the agent as /api/agents shows it
  let pollTimer = null;
  let busy = false;          // a state change is on its way

  // -- HTTP API ----------------------------------------------------------------------------
  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  async function api(method, path, body) {
    const headers = {"accept": "application/json"};
    if (body !== undefined) headers["content-type"] = "application/json";
    if (session) headers["authorization"] = "Bearer " + session.token;
    let resp;
    try {
      resp = await fetch(path, {method, headers, cache: "no-store",
                                body: body === undefined ? undefined : JSON.stringify(body)});
    } catch (e) {
      throw new ApiError(0, "unreachable", "无法连接 ctid · ctid is unreachable");
    }
    let data = null;
    try { data = await resp.json(); } catch (e) { data = null; }
    if (!resp.ok) {
      const err = (data && data.error) || {};
      throw new ApiError(resp.status, err.code || "http-" + resp.status,
                         err.message || resp.statusText || "request failed");
    }
    return data;
  }

  // -- push socket -------------------------------------------------------------------------
  class Push {
    constructor(onFrame, onStatus, onRejected) {
      this.onFrame = onFrame;
      this.onStatus = onStatus;
      this.onRejected = onRejected;      // the server refused our token
      this.ws = null;
      this.ready = false;
      this.stopped = true;
      this.attempt = 0;
      this.timer = null;
      this.seq = 0;
      this.generation = 0;               // bumped by start/stop: a stale open() gives up
      this.pending = new Map();          // id -> {resolve, reject, timer}
    }

    start() {
      this.generation += 1;
      clearTimeout(this.timer);
      this.stopped = false;
      this.attempt = 0;
      this.open();
    }

    stop() {
      this.generation += 1;
      this.stopped = true;
      clearTimeout(this.timer);
      if (this.ws) this.ws.close(1000, "sign out");
      this.ws = null;
      this.ready = false;
      this.failAll("signed out");
    }

    async open() {
      const generation = this.generation;
      this.onStatus("connecting");
      let cfg;
      try {
        cfg = await api("GET", "/web-config.json");
      } catch (e) {
        return generation === this.generation && this.retry(e.message);
      }
      if (this.stopped || generation !== this.generation) return;
      if (!cfg || !cfg.push_port) return this.retry("ctid 未公布推送端口 · ctid did not say where its push socket is");
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const ws = new WebSocket(scheme + "://" + location.hostname + ":" + cfg.push_port + (cfg.push_path || "/push"));
      this.ws = ws;
      ws.onopen = () => {
        this.request("auth", {token: session.token}, true).then(() => {
          this.ready = true;
          this.attempt = 0;
          this.onStatus("connected");
        }, (err) => {
          if (err.code === "bad-token" || err.code === "unauthenticated") this.onRejected(err);
        });
      };
      ws.onmessage = (ev) => this.receive(ev.data);
      ws.onclose = (ev) => {
        if (this.ws !== ws) return;
        this.ws = null;
        this.ready = false;
        this.failAll("connection lost");
        const refused = ev.code === 4002 && (ev.reason === "bad-token" || ev.reason === "unauthenticated");
        if (ev.code === 4003 && !this.stopped) this.onRejected({code: "session-expired"});
        else if (!this.stopped && !refused) this.retry("连接中断 · connection lost");
      };
    }

    retry(why) {
      if (this.stopped) return;
      const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * Math.pow(2, this.attempt));
      const delay = Math.round(base * (0.8 + 0.4 * Math.random()));
      this.attempt += 1;
      this.onStatus("reconnecting", {why, seconds: Math.ceil(delay / 1000)});
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.open(), delay);
    }

    receive(text) {
      let frame;
      try { frame = JSON.parse(text); } catch (e) { return; }
      if (!frame || typeof frame !== "object" || typeof frame.type !== "string") return;
      const data = frame.data || {};
      if ((frame.type === "ack" || frame.type === "error") && this.pending.has(data.id)) {
        const waiter = this.pending.get(data.id);
        this.pending.delete(data.id);
        clearTimeout(waiter.timer);
        if (frame.type === "ack") waiter.resolve(data);
        else waiter.reject(new ApiError(0, data.code || "error", data.message || "refused"));
        return;
      }
      this.onFrame(frame.type, data);
    }

    request(type, data, duringAuth) {
      return new Promise((resolve, reject) => {
        const ws = this.ws;
        if (!ws || ws.readyState !== WebSocket.OPEN || !(this.ready || duringAuth)) {
          reject(new ApiError(0, "offline", "未连接 · not connected"));
          return;
        }
        const id = type + "-" + (++this.seq);
        const timer = setTimeout(() => {
          this.pending.delete(id);
          reject(new ApiError(0, "timeout", "ctid 无应答 · no answer from ctid"));
        }, REQUEST_TIMEOUT_MS);
        this.pending.set(id, {resolve, reject, timer});
        ws.send(JSON.stringify({v: 1, type, id, data}));
      });
    }

    failAll(why) {
      for (const waiter of this.pending.values()) {
        clearTimeout(waiter.timer);
        waiter.reject(new ApiError(0, "offline", why));
      }
      this.pending.clear();
    }
  }

  const push = new Push(onFrame, onPushStatus, () => signOut("会话已失效，请重新登录 · Session expired, please sign in again"));

  // -- rendering ---------------------------------------------------------------------------
  function show(el, visible) { el.hidden = !visible; }

  function notice(text) {
    $("notice").textContent = text || "";
    show($("notice"), Boolean(text));
  }

  function onPushStatus(status, detail) {
    const conn = $("conn");
    conn.dataset.state = status;
    if (status === "connected") {
      conn.textContent = "已连接 Connected";
      notice("");
      refreshAgent();
    } else if (status === "connecting") {
      conn.textContent = "连接中… Connecting";
    } else if (status === "reconnecting") {
      conn.textContent = "重连中 Reconnecting";
      notice(detail.why + " — " + detail.seconds + " 秒后重试 · retrying in " + detail.seconds + " s");
    } else {
      conn.textContent = "离线 Offline";
    }
    updateButtons();
  }

  function renderAgent(next) {
    agent = next;
    const el = $("agent-state");
    el.dataset.state = agent ? agent.state : "unknown";
    el.textContent = agent ? (STATE_LABELS[agent.state] || agent.state) : "—";
    $("agent-reason").textContent = agent && agent.reason
      ? "(" + (reasonLabels[agent.reason] || agent.reason) + ")" : "";
    if (agent) $("agent-name").textContent = (agent.name || session.user) + " · " + agent.agent_id;
    updateButtons();
  }

  function updateButtons() {
    const state = agent ? agent.state : null;
    $("btn-ready").disabled = busy || !READY_FROM.has(state);
    $("btn-not-ready").disabled = busy || !NOT_READY_FROM.has(state);
    $("reason").disabled = busy || !NOT_READY_FROM.has(state);
  }

  function tierText(pop) {
    const label = pop.tier_label && pop.tier_label !== pop.tier ? pop.tier_label + " · " : "";
    return label + (pop.tier || "—");
  }

  function renderPop(pop) {
    const customer = pop.customer || {};
    $("pop").dataset.call = pop.call_id || "";
    $("pop-caller").textContent = pop.caller || "未知号码 Unknown number";
    $("pop-name").textContent = customer.name || "未识别客户 Unknown customer";
    $("pop-tier").textContent = tierText(pop);
    show($("pop-vip"), Boolean(pop.vip));
    $("pop-skill").textContent = pop.skill || "—";
    $("pop-ivr").textContent = pop.ivr_path || "—";
    const wait = Number(pop.wait_seconds);
    $("pop-wait").textContent = Number.isFinite(wait) ? wait.toFixed(1) + " 秒 s" : "—";
    $("pop-call").textContent = pop.call_id || "";
    show($("pop-empty"), false);
    const body = $("pop-body");
    show(body, true);
    body.classList.remove("fresh");
    void body.offsetWidth;                 // restart the highlight animation
    body.classList.add("fresh");
  }

  function addRecent(pop) {
    const tbody = $("recent").tBodies[0];
    const row = tbody.insertRow(0);
    const cells = [new Date().toLocaleTimeString(), pop.caller || "—",
                   (pop.customer && pop.customer.name) || "—", tierText(pop), pop.skill || "—"];
    for (const text of cells) row.insertCell().textContent = text;
    if (pop.vip) row.classList.add("vip-row");
    while (tbody.rows.length > RECENT_MAX) tbody.deleteRow(-1);
    show($("recent"), true);
    show($("recent-empty"), false);
  }

  function clearPops() {
    $("pop").dataset.call = "";
    show($("pop-body"), false);
    show($("pop-empty"), true);
    $("recent").tBodies[0].replaceChildren();
    show($("recent"), false);
    show($("recent-empty"), true);
  }

  // -- what arrives on the socket ----------------------------------------------------------
  function onFrame(type, data) {
    if (type === "screen-pop") {
      if (data.agent_id && data.agent_id !== session.agentId) return;   // a team-mate's call
      renderPop(data);
      addRecent(data);
      refreshAgent();
    } else if (type === "agent") {
      if (data.agent_id === session.agentId) renderAgent(data);
    } else if (type === "error") {
      notice("ctid: " + (data.message || data.code || "error"));
    }
  }

  // -- use cases ---------------------------------------------------------------------------
  async function refreshAgent() {
    if (!session) return;
    try {
      const agents = await api("GET", "/api/agents");
      const mine = (agents || []).find((a) => a.agent_id === session.agentId);
      if (!mine) notice("ctid 不认识坐席 " + session.agentId + " · ctid does not know this agent");
      renderAgent(mine || null);
    } catch (e) {
      if (e.status === 401) signOut("会话已失效，请重新登录 · Session expired, please sign in again");
      else if (!push.ready) notice(e.message);
    }
  }

  async function changeState(wanted) {
    if (!agent || busy) return;
    busy = true;
    updateButtons();
    const reason = $("reason").value;
    const path = "/api/agents/" + encodeURIComponent(session.agentId) + "/";
    try {
      if (wanted === "ready" && agent.state === "logged-out") {
        renderAgent(await api("POST", path + "login", {}));
      } else if (push.ready) {
        const data = wanted === "ready" ? {state: "ready"} : {state: "not-ready", reason};
        const ack = await push.request("state", data);
        renderAgent(Object.assign({}, agent, {state: ack.state, reason: ack.reason}));
      } else {                                     // socket down: the API does the same
        const body = wanted === "ready" ? {} : {reason};
        renderAgent(await api("POST", path + (wanted === "ready" ? "unpause" : "pause"), body));
      }
      notice("");
    } catch (e) {
      notice("无法切换状态 · Cannot change state: " + e.message);
      refreshAgent();
    } finally {
      busy = false;
      updateButtons();
    }
  }

  async function signIn(ev) {
    ev.preventDefault();
    const error = $("login-error");
    show(error, false);
    $("btn-login").disabled = true;
    const user = $("user").value.trim();
    try {
      const result = await api("POST", "/api/login", {user, password: $("password").value});
      const watcher = result.role === "supervisor" || result.role === "admin";
      if (!result.agent_id && !watcher) throw new ApiError(403, "not-an-agent", "该用户不是坐席 · this user is not an agent");
      session = {token: result.token, agentId: result.agent_id, user, role: result.role};
      sessionStorage.setItem(SESSION_KEY, JSON.stringify(session));
      $("password").value = "";
      start();
    } catch (e) {
      error.textContent = e.code === "bad-credentials"
        ? "用户名或密码错误 · Wrong user or password" : e.message;
      show(error, true);
    } finally {
      $("btn-login").disabled = false;
    }
  }

  function start() {
    if (session.role === "supervisor" || session.role === "admin") startBoard();
    else startDesk();
  }

  async function loadReasons() {
    try {
      const list = await api("GET", "/api/reasons");
      const select = $("reason");
      select.replaceChildren();
      reasonLabels = {};
      for (const r of list || []) {
        reasonLabels[r.code] = r.zh + " " + r.en;
        const option = document.createElement("option");
        option.value = r.code;
        option.textContent = r.zh + " " + r.en;
        select.appendChild(option);
      }
      if (agent) renderAgent(agent);
    } catch (e) {
      if (e.status === 401) signOut("会话已失效，请重新登录 · Session expired, please sign in again");
    }
  }

  function startDesk() {
    show($("login"), false);
    show($("board"), false);
    show($("desk"), true);
    show($("who"), true);
    show($("leave-label"), true);
    $("brand-sub").textContent = "坐席工作台 · Agent desktop";
    loadReasons();
    $("agent-name").textContent = session.user + " · " + session.agentId;
    clearPops();
    renderAgent(null);
    refreshAgent();
    clearInterval(pollTimer);
    pollTimer = setInterval(refreshAgent, POLL_MS);
    push.start();
  }

  // -- supervisor view ---------------------------------------------------------------------
  function startBoard() {
    show($("login"), false);
    show($("desk"), false);
    show($("board"), true);
    show($("who"), true);
    show($("leave-label"), false);
    $("brand-sub").textContent = "班长视图 · Supervisor view";
    $("agent-name").textContent = session.user + " · " + (session.role === "admin" ? "管理员 Admin" : "班长 Supervisor");
    $("conn").dataset.state = "offline";
    $("conn").textContent = "轮询 Polling";
    loadReasons();
    refreshBoard();
    clearInterval(pollTimer);
    pollTimer = setInterval(refreshBoard, POLL_MS);
  }

  function fillTable(table, empty, rows) {
    const tbody = table.tBodies[0];
    tbody.replaceChildren();
    for (const cells of rows) {
      const row = tbody.insertRow();
      for (const text of cells) row.insertCell().textContent = text;
    }
    show(table, rows.length > 0);
    show(empty, rows.length === 0);
  }

  async function refreshBoard() {
    if (!session) return;
    try {
      const [agents, queue] = await Promise.all([api("GET", "/api/agents"), api("GET", "/api/queue")]);
      const counts = {};
      for (const a of agents) counts[a.state] = (counts[a.state] || 0) + 1;
      $("board-counts").textContent = Object.entries(counts)
        .map(([state, n]) => (STATE_LABELS[state] || state) + " " + n).join(" · ");
      fillTable($("board-agents"), $("board-agents-empty"), agents.map((a) => [
        a.agent_id, a.name || "—", a.team || "—", STATE_LABELS[a.state] || a.state,
        a.reason ? (reasonLabels[a.reason] || a.reason) : "—", a.call_id || "—"]));
      $("queue-count").textContent = queue.length ? String(queue.length) : "";
      fillTable($("board-queue"), $("board-queue-empty"), queue.map((c) => [
        String(c.position || "—"), c.caller || "—", c.tier || "—", c.skill || "—",
        Number(c.wait).toFixed(0) + " 秒 s"]));
      $("board-notice").textContent = "";
      show($("board-notice"), false);
    } catch (e) {
      if (e.status === 401) { signOut("会话已失效，请重新登录 · Session expired, please sign in again"); return; }
      $("board-notice").textContent = e.message;
      show($("board-notice"), true);
    }
  }

  // Sign out asked for by the person: the server ends the session (and, if ticked, logs the
  // agent out of the queue) before the page forgets it.
  async function signOutAsked() {
    const token = session && session.token;
    const leave = Boolean(session && session.agentId) && $("leave-queue").checked;
    $("btn-sign-out").disabled = true;
    try {
      if (token) await api("POST", "/api/logout", {leave_queue: leave});
    } catch (e) {
      // The token may be dead already; the page signs out either way.
    } finally {
      $("btn-sign-out").disabled = false;
    }
    signOut("");
  }

  function signOut(message) {
    push.stop();
    clearInterval(pollTimer);
    session = null;
    agent = null;
    sessionStorage.removeItem(SESSION_KEY);
    show($("board"), false);
    show($("desk"), false);
    show($("who"), false);
    show($("login"), true);
    $("conn").dataset.state = "offline";
    const error = $("login-error");
    error.textContent = message || "";
    show(error, Boolean(message));
  }

  function restoreSession() {
    try {
      const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
      if (saved && saved.token && (saved.agentId || saved.role === "supervisor" || saved.role === "admin")) {
        session = saved;
        start();
      }
    } catch (e) {
      sessionStorage.removeItem(SESSION_KEY);
    }
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("login-form").addEventListener("submit", signIn);
    $("btn-ready").addEventListener("click", () => changeState("ready"));
    $("btn-not-ready").addEventListener("click", () => changeState("not-ready"));
    $("btn-sign-out").addEventListener("click", signOutAsked);
    restoreSession();
  });
})();
