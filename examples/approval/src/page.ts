/**
 * The desk page: plain HTML and a browser WebSocket, no build step. Open `/?desk=<name>` (default
 * "main"). It calls the desk over the RPC protocol and redraws on `workflow_*` frames. Text from the
 * server is inserted with `textContent`, never as HTML.
 */
export const PAGE = /* html */ `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Outreach desk</title>
<link rel="icon" href="data:,">
<style>
  body { font: 15px/1.45 system-ui, sans-serif; margin: 0; background: #f5f5f3; color: #222; }
  header { padding: .7rem 1.2rem; background: #222; color: #eee; display: flex; gap: 1rem; align-items: baseline; }
  header small { color: #aaa; }
  main { max-width: 46rem; margin: 0 auto; padding: 1rem; }
  form, .actions { display: flex; gap: .5rem; }
  form { margin-bottom: 1rem; }
  input { font: inherit; padding: .35rem .5rem; flex: 1; }
  button { font: inherit; padding: .35rem .8rem; cursor: pointer; }
  article { background: #fff; border: 1px solid #ddd; border-radius: 6px; padding: .7rem 1rem; margin-bottom: .8rem; }
  h2 { font-size: 1rem; margin: 0; display: flex; gap: .6rem; align-items: baseline; }
  h2 small { color: #999; font-weight: normal; margin-left: auto; }
  .phase { font-size: .75rem; padding: .05rem .5rem; border-radius: 1rem; background: #e8e8e8; }
  [data-phase="awaiting approval"] .phase { background: #fff0b3; }
  [data-phase="sent"] .phase { background: #cdeccd; }
  [data-phase="rejected"] .phase, [data-phase="timed out"] .phase, [data-phase="failed"] .phase { background: #f8d0d0; }
  .progress { color: #555; margin: .3rem 0; }
  pre { white-space: pre-wrap; background: #fafafa; border: 1px solid #eee; padding: .6rem; margin: .4rem 0; font: 13px/1.4 ui-monospace, monospace; }
  #status { color: #c60; }
</style>
</head>
<body>
<header><strong>Outreach desk</strong><small id="desk"></small><small id="status"></small></header>
<main>
  <form id="form">
    <input id="prospect" placeholder="Prospect's name, e.g. Ada Lovelace" maxlength="80" autocomplete="off" autofocus>
    <button id="start">Research &amp; draft</button>
  </form>
  <p id="empty">Nothing yet: name a prospect to start.</p>
  <section id="list"></section>
</main>
<script type="module">
  const desk = new URLSearchParams(location.search).get("desk") || "main";
  const $ = (id) => document.getElementById(id);
  $("desk").textContent = "desk: " + desk;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const url = scheme + "//" + location.host + "/agents/desk/" + encodeURIComponent(desk);
  let socket;
  let items = [];

  // A tiny RPC client: {type:"rpc", id, method, args} goes out, {type:"rpc", id, success, result|error} comes back.
  const pending = new Map();
  let lastCall = 0;
  function call(method, ...args) {
    return new Promise((resolve, reject) => {
      if (socket?.readyState !== WebSocket.OPEN) return reject(new Error("Not connected"));
      const id = String(++lastCall);
      pending.set(id, { resolve, reject });
      socket.send(JSON.stringify({ type: "rpc", id, method, args }));
    });
  }
  const report = (error) => { $("status").textContent = error.message; };

  let latest = 0;
  async function refresh() {
    const mine = ++latest;
    const list = await call("list").catch(report);
    if (list && mine === latest) { items = list; render(); }
  }

  function el(tag, props, ...children) {
    const node = Object.assign(document.createElement(tag), props);
    node.append(...children.filter((child) => child != null));
    return node;
  }

  function act(button, method, ...args) {
    button.disabled = true;
    $("status").textContent = "";
    call(method, ...args).catch(report).finally(refresh);
  }

  function card(item) {
    const article = el("article", {},
      el("h2", {}, item.prospect, el("span", { className: "phase", textContent: item.phase }), el("small", { textContent: item.id })),
      el("p", { className: "progress", textContent: item.progress?.message ?? "Starting…" }),
      item.draft && el("pre", { className: "draft", textContent: "To: " + item.draft.to + "\\nSubject: " + item.draft.subject + "\\n\\n" + item.draft.body }),
    );
    article.dataset.id = item.id;
    article.dataset.phase = item.phase;
    if (item.phase === "awaiting approval") {
      const reason = el("input", { placeholder: "Reason to reject (optional)" });
      const approve = el("button", { textContent: "Approve & send" });
      const reject = el("button", { textContent: "Reject" });
      approve.onclick = () => act(approve, "approve", item.id);
      reject.onclick = () => act(reject, "reject", item.id, reason.value);
      article.append(el("div", { className: "actions" }, approve, reason, reject));
    }
    const outcome =
      item.phase === "sent" ? "Sent " + new Date(item.sentAt).toLocaleString() :
      item.phase === "rejected" ? "Rejected" + (item.reason ? ": " + item.reason : "") :
      item.phase === "timed out" ? "Nobody answered within 7 days." :
      item.phase === "failed" ? item.error?.message ?? item.status : null;
    if (outcome) article.append(el("p", { className: "outcome", textContent: outcome }));
    return article;
  }

  function render() {
    $("empty").hidden = items.length > 0;
    $("list").replaceChildren(...items.map(card));
  }

  function connect() {
    socket = new WebSocket(url);
    socket.onopen = () => { $("status").textContent = ""; refresh(); };
    socket.onclose = () => {
      for (const { reject } of pending.values()) reject(new Error("Disconnected"));
      pending.clear();
      $("status").textContent = "reconnecting…";
      setTimeout(connect, 1000);
    };
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "rpc") {
        const call = pending.get(frame.id);
        if (!call || frame.done === false) return;
        pending.delete(frame.id);
        if (frame.success) call.resolve(frame.result); else call.reject(new Error(frame.error));
      } else if (frame.type === "workflow_progress") {
        // Live progress: show it at once, then fetch the rest (a new draft, the status).
        const item = items.find((i) => i.id === frame.workflowId);
        if (item) { item.progress = frame.progress; render(); }
        refresh();
      } else if (frame.type === "workflow_complete" || frame.type === "workflow_error") {
        refresh();
      }
      // Anything else is the runtime's own protocol (identity, state) and is ignored here.
    };
  }

  $("form").addEventListener("submit", (event) => {
    event.preventDefault();
    const prospect = $("prospect").value.trim();
    if (prospect === "") return;
    $("status").textContent = "";
    call("start", prospect).then(() => { $("prospect").value = ""; }, report).finally(refresh);
  });
  connect();
</script>
</body>
</html>
`;
