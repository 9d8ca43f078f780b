// The console chat: history from the store, live messages over server-sent events, commands
// and button clicks posted with the page's CSRF token. No framework, no external resource.
"use strict";

(function () {
  const app = document.querySelector(".chat-app");
  if (!app) return;
  const me = app.dataset.me;
  const botName = app.dataset.bot;
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const list = document.getElementById("messages");
  const form = document.getElementById("composer");
  const input = document.getElementById("text");
  const atBox = document.getElementById("at-bot");
  const atLabel = document.getElementById("at-label");
  const live = document.getElementById("live");
  const quoteBar = document.getElementById("quote");
  const title = document.getElementById("chat-title");
  let chat = app.dataset.chat;
  let quoted = null;
  let pending = null; // {text, eventId}: resent with the same id after a failure
  const shown = new Map(); // message id -> <li>

  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  }

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Text with @mentions highlighted (@me stands out).
  function richText(text) {
    const frag = document.createDocumentFragment();
    const re = /@([^\s@，。,：:]+)/g;
    let last = 0;
    let m;
    while ((m = re.exec(text)) !== null) {
      if (m.index > last) frag.append(text.slice(last, m.index));
      frag.append(el("span", m[1] === me ? "mention me" : "mention", m[0]));
      last = m.index + m[0].length;
    }
    if (last < text.length) frag.append(text.slice(last));
    return frag;
  }

  function isGroup() { return chat.startsWith("g:"); }

  function render(ev) {
    if (ev.chat !== chat) return;
    if (ev.type === "update") { applyUpdate(ev.id, ev.text); return; }
    if (shown.has(ev.id)) return;
    const fromBot = ev.from === "bot";
    const li = el("li", "msg " + (fromBot ? "bot" : ev.from === me ? "mine" : "other") +
      (ev.type === "click" ? " click" : ""));
    li.dataset.id = ev.id;
    li.append(el("div", "avatar", fromBot ? "助" : ev.from.slice(0, 1)));
    const box = el("div", "box");
    const head = el("div", "head");
    head.append(el("span", "name", fromBot ? botName : ev.from), el("span", "time", ev.at || ""));
    box.append(head);
    const bubble = el("div", "bubble" + (ev.actions && ev.actions.length ? " card" : ""));
    if (ev.title) bubble.append(el("div", "title", ev.title));
    const body = el("div", "text");
    body.append(richText(ev.text));
    bubble.append(body);
    if (ev.mentions && ev.mentions.length && fromBot) {
      const line = el("div", "mentions");
      ev.mentions.forEach((n) => line.append(el("span", n === me ? "mention me" : "mention", "@" + n)));
      bubble.append(line);
    }
    if (ev.actions && ev.actions.length) {
      const row = el("div", "actions");
      ev.actions.forEach((a) => {
        const b = el("button", "act " + (a.style || "default"), a.label);
        b.type = "button";
        b.addEventListener("click", () => click(ev.id, a, b));
        row.append(b);
      });
      bubble.append(row);
    }
    box.append(bubble);
    if (fromBot) {
      const q = el("button", "quote-btn", "引用");
      q.type = "button";
      q.title = "引用这条消息回复（可省略工单号）";
      q.addEventListener("click", () => setQuote(ev.id, ev.title || ev.text));
      box.append(q);
    }
    li.append(box);
    shown.set(ev.id, li);
    const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    list.append(li);
    if (atBottom || ev.from === me) list.scrollTop = list.scrollHeight;
    if (ev.update) applyUpdate(ev.id, ev.update);
  }

  function applyUpdate(id, text) {
    const li = shown.get(id);
    if (!li) return;
    li.querySelectorAll("button.act").forEach((b) => { b.disabled = true; });
    let done = li.querySelector(".done");
    if (!done) {
      done = el("div", "done");
      li.querySelector(".bubble").append(done);
    }
    done.textContent = text;
  }

  function setQuote(id, text) {
    quoted = id;
    quoteBar.hidden = false;
    quoteBar.querySelector("span").textContent = "引用：" + text.split("\n")[0].slice(0, 60);
    input.focus();
  }

  function clearQuote() { quoted = null; quoteBar.hidden = true; }

  async function post(url, body) {
    const r = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body),
    });
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw new Error(data.message || ("HTTP " + r.status));
    return data;
  }

  function status(text, bad) {
    live.textContent = text;
    live.className = "live " + (bad ? "off" : "on");
  }

  async function click(messageId, a, button) {
    let note = "";
    if (a.command === "驳回") {
      note = (window.prompt("请写明驳回意见：") || "").trim();
      if (!note) return;
    }
    button.disabled = true;
    try {
      await post("/console/api/action", {
        chat, message_id: messageId, cmd: a.command, ticket: a.ticket, token: a.token, note,
        event_id: newId(),
      });
    } catch (err) {
      button.disabled = false;
      status("发送失败：" + err.message, true);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    let text = input.value.trim();
    if (!text) return;
    if (isGroup() && atBox.checked && !text.startsWith("@")) text = "@" + botName + " " + text;
    if (!pending || pending.text !== text) pending = { text, eventId: newId() };
    try {
      const data = await post("/console/api/messages", {
        chat, text, event_id: pending.eventId, quoted_message_id: quoted,
      });
      pending = null;
      input.value = "";
      clearQuote();
      if (!shown.has(data.id)) render({ type: "message", id: data.id, chat, from: me, text, at: "" });
    } catch (err) {
      status("发送失败，请重试：" + err.message, true);
    }
  });

  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  document.getElementById("quote-cancel").addEventListener("click", clearQuote);

  async function loadHistory() {
    const r = await fetch("/console/api/history?chat=" + encodeURIComponent(chat), { credentials: "same-origin" });
    if (!r.ok) return;
    const data = await r.json();
    if (data.chat !== chat) return;
    data.items.forEach(render);
    list.scrollTop = list.scrollHeight;
    app.dataset.loaded = chat;
  }

  function switchTo(key, label) {
    chat = key;
    shown.clear();
    list.replaceChildren();
    clearQuote();
    title.textContent = label;
    atLabel.hidden = !isGroup();
    document.querySelectorAll(".chats a[data-chat]").forEach((a) => {
      a.classList.toggle("active", a.dataset.chat === key);
      if (a.dataset.chat === key) { const b = a.querySelector(".badge"); b.hidden = true; b.textContent = ""; }
    });
    history.replaceState(null, "", "/console?chat=" + encodeURIComponent(key));
    loadHistory();
  }

  document.querySelectorAll(".chats a[data-chat]").forEach((a) => {
    a.addEventListener("click", (event) => {
      event.preventDefault();
      switchTo(a.dataset.chat, a.firstChild.textContent);
    });
  });

  function badge(key) {
    const a = document.querySelector('.chats a[data-chat="' + CSS.escape(key) + '"]');
    if (!a) return;
    const b = a.querySelector(".badge");
    b.hidden = false;
    b.textContent = String((parseInt(b.textContent, 10) || 0) + 1);
  }

  function connect() {
    const source = new EventSource("/console/api/events");
    source.addEventListener("open", () => { status("实时连接", false); app.dataset.live = "1"; loadHistory(); });
    source.addEventListener("chat", (msg) => {
      const ev = JSON.parse(msg.data);
      if (ev.chat === chat) render(ev);
      else if (ev.type !== "update") badge(ev.chat);
    });
    source.addEventListener("error", () => { status("连接中断，正在重连…", true); app.dataset.live = ""; });
  }

  atLabel.hidden = !isGroup();
  connect();
})();
