// The operator console: plain DOM, one view at a time (the URL's #fragment names it, never a
// credential), every action one call of the public API through api.js. A refusal is shown
// as text: the API's message, then what to do next (api.advice).
import { ROOT, advice, call, credential, signIn, signOut, stream } from "./api.js";
import { newSecret, otpauthUri, qrSvg } from "./otp.js";

const $ = (selector) => document.querySelector(selector);
const SESSIONS_REFRESH_MS = 3000;
const PAGE = 50; // rows a list asks for at once (the API's largest page)
const VIEWS = {
  stream: { title: "Stream", needsStream: true, render: streamView },
  tokens: { title: "Tokens", needsStream: true, render: tokensView },
  subscribers: { title: "Subscribers", needsStream: true, render: subscribersView },
  sessions: { title: "Live sessions", needsStream: true, render: sessionsView },
  decisions: { title: "Decisions", needsStream: true, render: decisionsView },
  accounts: { title: "Service accounts", needsStream: false, render: accountsView },
  keys: { title: "Signing keys", needsStream: false, render: keysView },
};
let timer = null; // the live-sessions refresh
let generation = 0; // bumped per render: a late reply of a view left behind draws nothing

// -- small DOM helpers --------------------------------------------------------------------

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  node.append(...children.flat().filter((c) => c !== null && c !== undefined));
  return node;
}

let ids = 0;
function field(label, input, hint) {
  input.id ||= `f${++ids}`;
  const parts = [el("label", { for: input.id, text: label }), input];
  if (hint) {
    const hintId = `${input.id}-hint`;
    input.setAttribute("aria-describedby", hintId);
    parts.push(el("span", { class: "hint", id: hintId, text: hint }));
  }
  return el("div", { class: "field" }, parts);
}

function select(name, options, value) {
  return el(
    "select",
    { name },
    options.map(([v, label]) => el("option", { value: v, selected: v === value, text: label })),
  );
}

function time(ms) {
  return ms ? new Date(ms).toLocaleString() : "—";
}

// A status line under a view's heading: role=status for news, role=alert for refusals.
function notice(box, message, kind = "ok") {
  box.replaceChildren();
  if (!message) return;
  box.append(el("p", { class: kind === "error" ? "error" : "ok", role: kind === "error" ? "alert" : "status", text: message }));
}

// Runs `action`; a refusal becomes text in `box` (the API's message and what to do next). With
// `done` (the news of an action), an answer that says nothing was done (Ant Media's Result:
// HTTP 200, success false, e.g. a session that had already ended) is shown as that, not as done.
async function attempt(box, action, done) {
  try {
    const result = await action();
    if (done && result && result.success === false) {
      notice(box, `Nothing changed: ${result.message || "the API did not do it"}. Reload the view and try again.`, "error");
      return undefined;
    }
    if (done) notice(box, typeof done === "function" ? done(result) : done);
    return result;
  } catch (error) {
    notice(box, advice(error), "error");
    return undefined;
  }
}

function table(caption, columns, rows, empty = `No ${caption.toLowerCase()}.`) {
  if (!rows.length) return el("p", { class: "empty", text: empty });
  return el(
    "table",
    {},
    el("caption", { text: caption }),
    el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col", text: c })))),
    el("tbody", {}, rows),
  );
}

// A view's list, drawn the same way in every view: fetched through the API, then drawn as a
// table in `box`; a refusal is text in `status` (the API's message and what to do next); an
// answer that arrives after its view was left (`token` is not the current generation) draws
// nothing. Resolves to what was fetched, or undefined (refused, or left behind).
async function showList(token, box, status, fetch, draw) {
  const rows = await attempt(status, fetch);
  if (token !== generation || rows === undefined) return undefined;
  box.replaceChildren(draw(rows));
  return rows;
}

function currentStream() {
  return $("#stream-id").value.trim();
}

// A secret shown once: it leaves the page when the operator says it is saved.
function shownOnce(title, parts) {
  const box = el("div", { class: "once", role: "region", "aria-label": title, tabindex: "-1" });
  const done = el("button", {
    type: "button",
    text: "I have saved it: hide it",
    onclick: () => {
      box.remove();
      $("#view h2").focus(); // focus stays in the view, not lost with the box
    },
  });
  box.append(el("h3", { text: title }), el("p", { class: "warn", text: "Shown once: the API never shows it again." }), ...parts, done);
  return box;
}

function copyable(label, value) {
  const output = el("code", { class: "secret", text: value });
  const button = el("button", {
    type: "button",
    class: "small",
    text: `Copy ${label}`,
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(value);
        button.textContent = `Copied ${label}`;
      } catch {
        button.textContent = "Copy failed: select the text instead";
      }
    },
  });
  return el("p", {}, el("span", { class: "label", text: `${label}: ` }), output, " ", button);
}

// -- views --------------------------------------------------------------------------------

async function streamView(view, id, token) {
  const viewersPath = `api/v1/streams/${encodeURIComponent(id)}/public-viewers`;
  const status = el("div");
  const summary = el("dl", { class: "summary" });
  const refresh = async () => {
    const [sessions, tokens, subscribers, publicViewers] = await Promise.allSettled([
      call("GET", `${stream(id)}/sessions`),
      call("GET", `${stream(id)}/tokens/list/0/50`),
      call("GET", `${stream(id)}/subscribers/list/0/50`),
      call("GET", viewersPath),
    ]);
    if (token !== generation) return;
    const count = (r, more) => (r.status === "fulfilled" ? `${r.value.length}${r.value.length >= 50 && more ? "+" : ""}` : "—");
    const open = (r) =>
      r.status !== "fulfilled" ? "—" : `${r.value.enabled ? "yes" : "no"}${r.value.default ? " (the deployment's default: never opened or closed)" : ""}`;
    summary.replaceChildren(
      el("dt", { text: "Open to public viewers" }),
      el("dd", { text: open(publicViewers) }),
      el("dt", { text: "Live sessions" }),
      el("dd", { text: count(sessions, false) }),
      el("dt", { text: "Live stored tokens" }),
      el("dd", { text: count(tokens, true) }),
      el("dt", { text: "Subscribers" }),
      el("dd", { text: count(subscribers, true) }),
    );
    const refused = [sessions, tokens, subscribers, publicViewers].find((r) => r.status === "rejected");
    if (refused) notice(status, advice(refused.reason), "error");
  };
  const viewers = async (enabled) => {
    await attempt(
      status,
      () => call("PUT", viewersPath, { body: { enabled } }),
      enabled
        ? `${id} is open to public viewers: POST /api/v1/tokens mints viewer JWTs for it.`
        : `${id} is closed to public viewers: its viewer JWTs end within the revocation cache time (5 s).`,
    );
    await refresh();
  };
  const revoke = async () => {
    if (!window.confirm(`Revoke every token of ${id}? Its token holders are dropped at their next renew.`)) return;
    await attempt(status, () => call("DELETE", `${stream(id)}/tokens`), `Every token of ${id} is revoked: sessions holding one end at their media server's next renew.`);
    await refresh();
  };
  const policyStatus = el("div"); // the news of a save or a removal
  const policyHint = el("div"); // what is stored now
  const policy = el("textarea", { name: "policy", rows: "6", cols: "60", spellcheck: "false" });
  const loadPolicy = async () => {
    try {
      const current = await call("GET", `${stream(id)}/policy`);
      if (token !== generation) return;
      policy.value = current && current.policy ? JSON.stringify(current.policy, null, 2) : "";
      policyHint.replaceChildren(el("p", { class: "hint", text: current && current.policy ? `As stored for ${id} (GET …/policy).` : `${id} has no access policy: only each credential's own rules apply.` }));
    } catch (error) {
      if (token !== generation) return;
      if (error.status === 404 && /no such route/.test(error.message)) {
        notice(policyStatus, "This API has no stream access policies yet (GET …/policy answered 404): update streamauth and deploy it again.", "error");
      } else notice(policyStatus, advice(error), "error");
    }
  };
  const savePolicy = async (event) => {
    event.preventDefault();
    let body;
    try {
      body = JSON.parse(policy.value || "{}");
    } catch (error) {
      notice(policyStatus, `The policy is not JSON (${error.message}): correct it and save again.`, "error");
      return;
    }
    if (await attempt(policyStatus, () => call("PUT", `${stream(id)}/policy`, { body }), `${id}'s access policy is saved: it applies from the next admission and renew.`)) await loadPolicy();
  };
  const removePolicy = async () => {
    if (!window.confirm(`Remove ${id}'s access policy?`)) return;
    if (await attempt(policyStatus, () => call("DELETE", `${stream(id)}/policy`), `${id}'s access policy is removed.`)) await loadPolicy();
  };
  view.append(
    el("p", {}, "Public viewers (", el("code", { text: "POST /api/v1/tokens" }), ") get viewer JWTs only while the stream is open to them."),
    el(
      "div",
      { class: "actions" },
      el("button", { type: "button", text: "Open to public viewers", onclick: () => viewers(true) }),
      el("button", { type: "button", text: "Close to public viewers", onclick: () => viewers(false) }),
      el("button", { type: "button", class: "danger", text: "Revoke all tokens", onclick: revoke }),
    ),
    status,
    el("h3", { text: "Now" }),
    summary,
    el("h3", { text: "Access policy" }),
    el(
      "form",
      { onsubmit: savePolicy },
      field("Policy (JSON, README \"Access policies\")", policy),
      el("div", { class: "actions" }, el("button", { type: "submit", text: "Save policy" }), el("button", { type: "button", class: "danger", text: "Remove policy", onclick: removePolicy })),
    ),
    policyStatus,
    policyHint,
  );
  await Promise.all([refresh(), loadPolicy()]);
}

async function tokensView(view, id, token) {
  const status = el("div");
  const issued = el("div");
  const list = el("div");
  const type = select("type", [["play", "play"], ["publish", "publish"]], "play");
  const kind = select("kind", [["token", "one-time token"], ["jwt-token", "JWT stream token"]], "token");
  const minutes = el("input", { name: "minutes", type: "number", min: "1", value: "60", required: true });
  const room = el("input", { name: "roomId", spellcheck: "false" });
  const more = el("div");
  let shown = []; // the tokens listed so far: the first page, then each next one appended
  const load = async (offset = 0) => {
    const page = await showList(
      token,
      list,
      status,
      () => call("GET", `${stream(id)}/tokens/list/${offset}/${PAGE}`),
      (tokens) =>
        table(
          "Live stored tokens (JWT stream tokens are not stored: they end with a revocation)",
          ["Token", "Type", "Expires", "Room"],
          (offset ? shown.concat(tokens) : tokens).map((t) =>
            el("tr", {}, el("td", {}, el("code", { text: t.tokenId })), el("td", { text: t.type }), el("td", { text: time(t.expireDate * 1000) }), el("td", { text: t.roomId || "—" })),
          ),
        ),
    );
    if (!page) return;
    shown = offset ? shown.concat(page) : page;
    more.replaceChildren(
      page.length === PAGE
        ? el("button", { type: "button", text: `Next ${PAGE} tokens`, onclick: () => load(offset + PAGE) })
        : el("p", { class: "hint", text: `${shown.length} live stored token${shown.length === 1 ? "" : "s"}: no more.` }),
    );
  };
  const form = el(
    "form",
    {
      class: "inline",
      onsubmit: async (event) => {
        event.preventDefault();
        const expireDate = Math.floor(Date.now() / 1000) + 60 * Number(minutes.value);
        const path = `${stream(id)}/${kind.value}`;
        const result = await attempt(status, () => call("GET", path, { query: { expireDate, type: type.value, roomId: room.value.trim() } }));
        if (!result) return;
        issued.replaceChildren(copyable("token", result.tokenId));
        await load();
        notice(status, `Issued a ${type.value} ${kind.value === "token" ? "one-time token" : "JWT stream token"} for ${id}.`);
      },
    },
    field("Type", type),
    field("Kind", kind),
    field("Expires in (minutes)", minutes),
    field("Room (optional)", room),
    el("button", { type: "submit", text: "Issue token" }),
  );
  view.append(el("h3", { text: "Issue" }), form, status, issued, el("h3", { text: "List" }), list, more);
  await load();
}

async function subscribersView(view, id, token) {
  const status = el("div");
  const listStatus = el("div"); // the list's and its rows' news, beside them
  const secretBox = el("div");
  const list = el("div");
  const sid = el("input", { name: "subscriberId", required: true, minlength: "4", maxlength: "128", spellcheck: "false" });
  const name = el("input", { name: "subscriberName", maxlength: "256" });
  const type = select("type", [["publish", "publish (and play)"], ["play", "play"]], "publish");
  const limit = el("input", { name: "limit", type: "number", min: "1", max: "10000", value: "1", required: true });
  const period = el("input", { name: "period", type: "number", min: "10", value: "60", required: true });
  const blockWhat = select("blockedType", [["publish_play", "publish and play"], ["publish", "publish"], ["play", "play"]], "publish_play");
  const blockMinutes = el("input", { name: "blockMinutes", type: "number", min: "1", value: "10", required: true });

  const load = () =>
    showList(
      token,
      list,
      listStatus,
      () => call("GET", `${stream(id)}/subscribers/list/0/${PAGE}`),
      (subscribers) => table("Subscribers", ["Subscriber", "Type", "Blocked", "Connections", "Code", "Actions"], subscribers.map((s) => subscriberRow(s))),
    );
  const subscriberRow = (s) => {
    const code = el("td", { class: "code", "aria-live": "polite" });
    const path = `${stream(id)}/subscribers/${encodeURIComponent(s.subscriberId)}`;
    const blocked = s.blockedType && s.blockedUntilUnitTimeStampMs > Date.now() ? `${s.blockedType} until ${time(s.blockedUntilUnitTimeStampMs)}` : "no";
    const act = (label, action, message) =>
      el("button", {
        type: "button",
        class: "small",
        text: label,
        "aria-label": `${label} ${s.subscriberId}`,
        onclick: async () => {
          if (await attempt(listStatus, action, message)) await load();
        },
      });
    return el(
      "tr",
      {},
      el("th", { scope: "row" }, el("code", { text: s.subscriberId }), s.subscriberName ? ` (${s.subscriberName})` : ""),
      el("td", { text: s.type }),
      el("td", { text: blocked }),
      el("td", { text: `${s.currentConcurrentConnections} of ${s.concurrentConnectionsLimit}` }),
      code,
      el(
        "td",
        { class: "actions" },
        el("button", {
          type: "button",
          class: "small",
          text: "Current code",
          "aria-label": `Current code of ${s.subscriberId}`,
          onclick: async () => {
            const result = await attempt(listStatus, () => call("GET", `${path}/totp`, { query: { type: s.type } }));
            if (!result) return;
            if (result.success) code.textContent = result.dataId;
            else notice(listStatus, `${result.message}. Give the subscriber a secret of its own, or set the app's TOTP secret.`, "error");
          },
        }),
        act(
          "Block",
          () => call("PUT", `${path}/block`, { body: { blockedType: blockWhat.value, seconds: 60 * Number(blockMinutes.value) } }),
          `${s.subscriberId} is blocked (${blockWhat.value}) for ${blockMinutes.value} min; its live sessions end at their next renew.`,
        ),
        act("Unblock", () => call("PUT", `${path}/unblock`), `${s.subscriberId} is unblocked.`),
        el("button", {
          type: "button",
          class: "small danger",
          text: "Delete",
          "aria-label": `Delete ${s.subscriberId}`,
          onclick: async () => {
            if (!window.confirm(`Delete subscriber ${s.subscriberId} of ${id}?`)) return;
            if (await attempt(listStatus, () => call("DELETE", path), `${s.subscriberId} is deleted.`)) await load();
          },
        }),
      ),
    );
  };
  const form = el(
    "form",
    {
      class: "inline",
      onsubmit: async (event) => {
        event.preventDefault();
        const secret = newSecret();
        const subscriberId = sid.value.trim();
        const body = {
          subscriberId,
          subscriberName: name.value.trim() || null,
          type: type.value,
          concurrentConnectionsLimit: Number(limit.value),
          totpExpiryPeriodSeconds: Number(period.value),
          b32Secret: secret,
        };
        const result = await attempt(status, () => call("POST", `${stream(id)}/subscribers`, { body }));
        if (!result) return;
        if (result.success === false) {
          notice(status, `${result.message}. Choose another subscriber id.`, "error");
          return;
        }
        notice(status, `${subscriberId} is created.`);
        const uri = otpauthUri({ streamId: id, subscriberId, secret, period: Number(period.value) });
        const qr = await qrSvg(uri, `QR code of ${subscriberId}'s TOTP secret for an authenticator app`);
        const parts = [
          qr ? el("div", { class: "qr" }, qr) : el("p", { class: "warn", text: "No QR encoder on this API (make console-ui): enter the secret by hand." }),
          copyable("secret", secret),
          copyable("otpauth URI", uri),
        ];
        const once = shownOnce(`${subscriberId}'s TOTP secret`, parts);
        secretBox.replaceChildren(once);
        form.reset();
        once.focus();
        await load();
      },
    },
    field("Subscriber id", sid, "4–128 characters"),
    field("Name (optional)", name),
    field("Type", type),
    field("Connections at once", limit),
    field("Code period (seconds)", period),
    el("button", { type: "submit", text: "Create subscriber" }),
  );
  view.append(
    el("h3", { text: "Create" }),
    el("p", { class: "hint", text: "The TOTP secret is made in this browser, sent once, and shown once as a QR code for an authenticator app." }),
    form,
    status,
    secretBox,
    el("h3", { text: "Subscribers" }),
    el("div", { class: "inline" }, field("Block what", blockWhat), field("Block for (minutes)", blockMinutes)),
    listStatus,
    list,
  );
  await load();
}

async function sessionsView(view, id, token) {
  const status = el("div");
  const list = el("div");
  const stamp = el("p", { class: "hint" });
  const sessionDecisions = el("div");
  const pause = el("input", { type: "checkbox", id: "pause-refresh" });
  const load = async () => {
    const sessions = await showList(token, list, status, () => call("GET", `${stream(id)}/sessions`), (sessions) =>
      table(
        "Live sessions",
        ["Session", "Action", "Server", "Credential", "Client", "Started", "Last seen", "Actions"],
        sessions.map((s) =>
          el(
            "tr",
            { "data-session": s.sessionId },
            el("th", { scope: "row" }, el("code", { class: "id", text: s.sessionId })),
            el("td", { text: s.action }),
            el("td", { text: [s.server, s.serverId].filter(Boolean).join(" ") }),
            el("td", { text: s.subscriberId ? `subscriber ${s.subscriberId}` : `${s.credential.kind} ${s.credential.ref.slice(0, 10)}…` }),
            el("td", { text: s.clientIp || "—" }),
            el("td", { text: time(s.startedAtMs) }),
            el("td", { text: time(s.lastSeenAtMs) }),
            el(
              "td",
              {},
              el("button", {
                type: "button",
                class: "small",
                text: "Decisions",
                "aria-label": `Decisions about session ${s.sessionId}`,
                onclick: async () => {
                  const page = await attempt(status, () => call("GET", `${stream(id)}/sessions/${encodeURIComponent(s.sessionId)}/decisions`));
                  if (page) sessionDecisions.replaceChildren(el("h3", { text: `Decisions about ${s.sessionId}` }), decisionsTable("Newest first", page.decisions));
                },
              }),
              " ",
              el("button", {
                type: "button",
                class: "small danger",
                text: "End",
                "aria-label": `End session ${s.sessionId}`,
                onclick: async () => {
                  if (await attempt(status, () => call("DELETE", `${stream(id)}/sessions/${encodeURIComponent(s.sessionId)}`), "The session is ended: the media server drops it at its next renew.")) await load();
                },
              }),
            ),
          ),
        ),
      ),
    );
    if (sessions) stamp.textContent = `Updated ${new Date().toLocaleTimeString()}; every ${SESSIONS_REFRESH_MS / 1000} s unless paused.`;
  };
  view.append(
    el("div", { class: "inline" }, el("div", { class: "field check" }, pause, el("label", { for: "pause-refresh", text: "Pause auto-refresh" }))),
    stamp,
    status,
    list,
    sessionDecisions,
  );
  await load();
  timer = setInterval(() => {
    if (!pause.checked && !document.hidden) load();
  }, SESSIONS_REFRESH_MS);
}

function decisionsTable(caption, decisions) {
  return table(
    caption,
    ["Time", "Action", "Allowed", "Reason", "Credential", "Subscriber", "Session", "Server", "Address"],
    decisions.map((d) =>
      el(
        "tr",
        { class: d.allowed ? "" : "refused" },
        el("td", { text: time(d.at) }),
        el("td", { text: d.action }),
        el("td", { text: d.allowed ? "yes" : "refused" }),
        el("td", {}, el("code", { text: d.reason })),
        el("td", { text: d.credential ? (typeof d.credential === "object" ? `${d.credential.kind} ${String(d.credential.ref || "").slice(0, 10)}` : d.credential) : "—" }),
        el("td", { text: d.subscriberId || "—" }),
        el("td", {}, d.sessionId ? el("code", { class: "id", text: d.sessionId }) : "—"),
        el("td", { text: [d.server, d.serverId].filter(Boolean).join(" ") || "—" }),
        el("td", { text: d.address || "—" }),
      ),
    ),
    "No decisions match.",
  );
}

async function decisionsView(view, id, token) {
  const status = el("div");
  const list = el("div");
  const more = el("div");
  const reason = el("input", { name: "reason", list: "reasons", spellcheck: "false" });
  const reasons = el("datalist", { id: "reasons" });
  const subscriber = el("input", { name: "subscriberId", spellcheck: "false" });
  const address = el("input", { name: "address", spellcheck: "false" });
  const since = el("input", { name: "since", type: "datetime-local" });
  let rows = [];
  const search = async (next) => {
    const query = {
      reason: reason.value.trim(),
      subscriberId: subscriber.value.trim(),
      address: address.value.trim(),
      since: since.value ? new Date(since.value).getTime() : "",
      limit: 50,
      next,
    };
    let page;
    try {
      page = await call("GET", `${stream(id)}/decisions`, { query });
    } catch (error) {
      if (token !== generation) return;
      view.dataset.searches = String(Number(view.dataset.searches || 0) + 1);
      if (error.status === 404 && /no such route/.test(error.message || "")) {
        notice(status, "This API has no decision log yet (GET …/decisions answered 404): update streamauth and deploy it again.", "error");
      } else notice(status, advice(error), "error");
      return;
    }
    if (token !== generation) return;
    view.dataset.searches = String(Number(view.dataset.searches || 0) + 1);
    notice(status, "");
    rows = next ? rows.concat(page.decisions) : page.decisions;
    const known = new Set(rows.map((d) => d.reason));
    reasons.replaceChildren(...[...known].sort().map((r) => el("option", { value: r })));
    list.replaceChildren(decisionsTable("Decisions, newest first", rows));
    more.replaceChildren(
      page.next ? el("button", { type: "button", text: "Older decisions", onclick: () => search(page.next) }) : el("p", { class: "hint", text: "No older decisions." }),
    );
  };
  const form = el(
    "form",
    {
      class: "inline",
      onsubmit: (event) => {
        event.preventDefault();
        search();
      },
    },
    field("Reason", reason),
    reasons,
    field("Subscriber id", subscriber),
    field("Client address", address),
    field("Since", since),
    el("button", { type: "submit", text: "Search" }),
  );
  view.append(form, status, list, more);
  await search();
}

const SCOPES = ["tokens:write", "subscribers:write", "read", "service-accounts:write"];

async function accountsView(view, _id, token) {
  const status = el("div");
  const keyBox = el("div");
  const list = el("div");
  const name = el("input", { name: "name", required: true, maxlength: "64" });
  const boxes = SCOPES.map((scope) => el("input", { type: "checkbox", name: "scopes", value: scope, id: `scope-${scope.replace(":", "-")}` }));
  const showKey = (title, account) => {
    const once = shownOnce(title, [copyable("key", account.key), el("p", { class: "hint", text: `Send it as Authorization: Token <key>. Scopes: ${account.scopes.join(", ")}.` })]);
    keyBox.replaceChildren(once);
    once.focus();
  };
  const load = () =>
    showList(token, list, status, () => call("GET", "api/v1/service-accounts"), (accounts) =>
      table(
        "Service accounts",
        ["Name", "Id", "Scopes", "Created", "Last used", "Actions"],
        accounts.map((a) =>
          el(
            "tr",
            {},
            el("th", { scope: "row", text: a.name }),
            el("td", {}, el("code", { text: a.id })),
            el("td", { text: a.scopes.join(", ") }),
            el("td", { text: time(a.created * 1000) }),
            el("td", { text: a.lastUsed ? time(a.lastUsed * 1000) : "never" }),
            el(
              "td",
              { class: "actions" },
              el("button", {
                type: "button",
                class: "small",
                text: "Rotate key",
                "aria-label": `Rotate the key of ${a.name}`,
                onclick: async () => {
                  if (!window.confirm(`Rotate ${a.name}'s key? The old key stops working (within 60 s).`)) return;
                  const rotated = await attempt(status, () => call("POST", `api/v1/service-accounts/${encodeURIComponent(a.id)}/rotate`), `${a.name} has a new key.`);
                  if (rotated) showKey(`${a.name}'s new key`, { ...a, ...rotated });
                },
              }),
              el("button", {
                type: "button",
                class: "small danger",
                text: "Delete",
                "aria-label": `Delete ${a.name}`,
                onclick: async () => {
                  if (!window.confirm(`Delete ${a.name}? Its key stops working (within 60 s).`)) return;
                  if (await attempt(status, () => call("DELETE", `api/v1/service-accounts/${encodeURIComponent(a.id)}`), `${a.name} is deleted.`)) await load();
                },
              }),
            ),
          ),
        ),
      ),
    );
  const form = el(
    "form",
    {
      class: "inline",
      onsubmit: async (event) => {
        event.preventDefault();
        const scopes = boxes.filter((b) => b.checked).map((b) => b.value);
        if (!scopes.length) {
          notice(status, "Pick at least one scope.", "error");
          return;
        }
        const account = await attempt(status, () => call("POST", "api/v1/service-accounts", { body: { name: name.value.trim(), scopes } }), (a) => `${a.name} is created.`);
        if (!account) return;
        showKey(`${account.name}'s key`, account);
        form.reset();
        await load();
      },
    },
    field("Name", name),
    el("fieldset", {}, el("legend", { text: "Scopes" }), boxes.map((b) => el("div", { class: "check" }, b, el("label", { for: b.id, text: b.value })))),
    el("button", { type: "submit", text: "Create account" }),
  );
  view.append(el("h3", { text: "Create" }), form, status, keyBox, el("h3", { text: "Accounts" }), list);
  await load();
}

async function keysView(view, _id, token) {
  const status = el("div");
  const [jwks, schedule] = await Promise.allSettled([
    call("GET", ".well-known/jwks.json", { auth: false }),
    call("GET", "api/v1/signing-keys"), // each key's state and times (the JWKS is plain RFC 7517)
  ]);
  if (token !== generation) return;
  view.append(
    el("p", {}, "The public ES256 keys (", el("a", { href: new URL(".well-known/jwks.json", ROOT).href, text: "JWKS" }), ") that verify streamauth's tokens, newest first: a next key is published ahead of signing, a previous one still verifies its last tokens. Rotation: on Secrets Manager's schedule, or at once with make rotate-keys."),
    status,
  );
  const refused = [jwks, schedule].find((r) => r.status === "rejected");
  if (refused) notice(status, advice(refused.reason), "error");
  if (jwks.status !== "fulfilled") return;
  const known = schedule.status === "fulfilled" ? schedule.value : { keys: [], nextKeySignsAt: null };
  const of = new Map(known.keys.map((k) => [k.kid, k]));
  const seconds = (s) => (s == null ? "—" : time(s * 1000));
  if (schedule.status === "fulfilled") {
    const day = (s) => new Date(s * 1000).toISOString().slice(0, 10);
    view.append(
      el(
        "dl",
        { class: "summary" },
        el("dt", { text: "Next scheduled rotation" }),
        el("dd", {
          text:
            known.nextRotationAt != null
              ? `${day(known.nextRotationAt)} (UTC), at an hour Secrets Manager picks that day`
              : "none scheduled on this API: rotate by hand with make rotate-keys",
        }),
        el("dt", { text: "Rotates every" }),
        el("dd", {
          text: known.rotationDays != null ? `${known.rotationDays} days (SigningRotationDays), counted from the last rotation` : "—",
        }),
        el("dt", { text: "Next key signs" }),
        el("dd", {
          text: known.nextKeySignsAt ? `from ${seconds(known.nextKeySignsAt)}` : "no next key waits: the next rotation publishes one ahead of signing",
        }),
      ),
    );
  }
  view.append(
    table(
      "Published keys",
      ["Key id (kid)", "State", "Signs from", "Verifies until", "Algorithm", "Curve", "Use"],
      jwks.value.keys.map((k) => {
        const timed = of.get(k.kid) || {};
        return el(
          "tr",
          {},
          el("th", { scope: "row" }, el("code", { text: k.kid })),
          el("td", { text: timed.state || "—" }),
          el("td", { text: seconds(timed.notBefore) }),
          el("td", { text: timed.state ? (timed.notAfter == null ? "no successor yet" : seconds(timed.notAfter)) : "—" }),
          el("td", { text: k.alg }),
          el("td", { text: k.crv }),
          el("td", { text: k.use }),
        );
      }),
    ),
  );
}

// -- shell: sign-in, navigation -----------------------------------------------------------

async function whoAmI() {
  const me = await call("GET", "api/v1/users/me");
  if (me.type === "viewer") throw new Error("A viewer JWT cannot run the console: sign in with an operator JWT or a service-account key.");
  const who = me.type === "operator" ? `operator ${me.sub || ""}` : `service account ${me.name || me.id}`;
  const scopes = me.scopes || [];
  $("#who").textContent = `Signed in as ${who.trim()} (scopes: ${scopes.includes("*") ? "all" : scopes.join(", ")})`;
}

function showSignedIn(signedIn) {
  $("#sign-in").hidden = signedIn;
  $("#nav").hidden = !signedIn;
  $("#who").hidden = !signedIn;
  $("#sign-out").hidden = !signedIn;
  if (!signedIn) {
    $("#stream-bar").hidden = true;
    $("#view").replaceChildren();
  }
}

async function render() {
  clearInterval(timer);
  timer = null;
  const token = ++generation;
  const name = VIEWS[location.hash.slice(1)] ? location.hash.slice(1) : "stream";
  const spec = VIEWS[name];
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.getAttribute("href") === `#${name}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  $("#stream-bar").hidden = !spec.needsStream;
  const id = currentStream();
  const heading = el("h2", { tabindex: "-1", text: spec.needsStream && id ? `${spec.title}: ${id}` : spec.title });
  const view = el("div", { class: `view view-${name}` });
  $("#view").replaceChildren(heading, view);
  document.title = `${spec.title} · streamauth console`;
  if (spec.needsStream && !id) {
    view.append(el("p", { text: "Enter a stream id above and press Show." }));
    $("#stream-id").focus();
    return;
  }
  if (document.activeElement === document.body || document.activeElement?.closest("#nav")) heading.focus();
  await spec.render(view, id, token);
  if (token === generation) view.dataset.ready = "true"; // drawn: its first answers are in
}

async function start() {
  const form = $("#sign-in-form");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = $("#credential");
    signIn(input.value);
    input.value = "";
    try {
      await whoAmI();
    } catch (error) {
      signOut();
      $("#sign-in-error").textContent = advice(error);
      input.focus();
      return;
    }
    $("#sign-in-error").textContent = "";
    showSignedIn(true);
    await render();
  });
  $("#sign-out").addEventListener("click", () => {
    signOut();
    clearInterval(timer);
    showSignedIn(false);
    $("#credential").focus();
  });
  $("#stream-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem("streamauth.console.stream", currentStream());
    render();
  });
  $("#stream-id").value = sessionStorage.getItem("streamauth.console.stream") || "";
  window.addEventListener("hashchange", () => credential() && render());
  if (credential()) {
    try {
      await whoAmI();
      showSignedIn(true);
      await render();
      return;
    } catch (error) {
      signOut();
      $("#sign-in-error").textContent = advice(error);
    }
  }
  showSignedIn(false);
}

start();
