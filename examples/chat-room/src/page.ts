/**
 * The chat page: plain HTML and a browser WebSocket, no build step. Open `/?room=<name>&nick=<you>`.
 * Every piece of user text is inserted with `textContent`, never as HTML.
 */
export const PAGE = /* html */ `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Hearth chat</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 0; display: flex; flex-direction: column; height: 100vh; }
  header { padding: .6rem 1rem; background: #222; color: #eee; display: flex; gap: 1rem; align-items: baseline; }
  header small { color: #aaa; }
  #log { flex: 1; overflow-y: auto; list-style: none; margin: 0; padding: .5rem 1rem; }
  #log li { margin: .2rem 0; }
  #log b { margin-right: .4rem; }
  #log time { color: #999; font-size: .8em; margin-right: .4rem; }
  form { display: flex; gap: .5rem; padding: .6rem 1rem; border-top: 1px solid #ddd; }
  input { flex: 1; font: inherit; padding: .4rem; }
  .status { color: #c60; }
</style>
</head>
<body>
<header><strong id="room"></strong><small id="who"></small><small id="status" class="status"></small></header>
<ul id="log"></ul>
<form id="form"><input id="text" autocomplete="off" placeholder="Say something" autofocus><button>Send</button></form>
<script type="module">
  const params = new URLSearchParams(location.search);
  const room = params.get("room") || "lobby";
  const nick = params.get("nick") || localStorage.getItem("hearth-nick") || prompt("Your nickname?") || "guest";
  localStorage.setItem("hearth-nick", nick);
  const $ = (id) => document.getElementById(id);
  $("room").textContent = "#" + room;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const url = scheme + "//" + location.host + "/agents/chat-room/" + encodeURIComponent(room) + "?nick=" + encodeURIComponent(nick);
  let socket;

  function show(message) {
    const item = document.createElement("li");
    const time = document.createElement("time");
    time.textContent = new Date(message.at).toLocaleTimeString();
    const who = document.createElement("b");
    who.textContent = message.nick;
    item.append(time, who, document.createTextNode(message.text));
    $("log").append(item);
    item.scrollIntoView();
  }

  function connect() {
    socket = new WebSocket(url);
    socket.onopen = () => { $("status").textContent = ""; };
    socket.onclose = () => { $("status").textContent = "reconnecting…"; setTimeout(connect, 1000); };
    socket.onmessage = (event) => {
      const frame = JSON.parse(event.data);
      if (frame.type === "history") { $("log").replaceChildren(); frame.messages.forEach(show); }
      else if (frame.type === "message") show(frame.message);
      else if (frame.type === "presence") $("who").textContent = "here: " + frame.nicks.join(", ");
      else if (frame.type === "error") $("status").textContent = frame.error;
      // Anything else is the runtime's own protocol (identity, state, RPC) and is ignored here.
    };
  }

  $("form").addEventListener("submit", (event) => {
    event.preventDefault();
    const text = $("text").value.trim();
    if (text === "" || socket.readyState !== WebSocket.OPEN) return;
    socket.send(JSON.stringify({ type: "say", text }));
    $("text").value = "";
  });
  connect();
</script>
</body>
</html>
`;
