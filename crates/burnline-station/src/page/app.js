// The operator page: renders each snapshot the service pushes on
// /api/events (server-sent events); asks for the station's token once when
// the API answers 401; Chinese or English, remembered in localStorage.
// Every sentence is in both languages: the service sends a kind for each
// failure and error, the page says it; the service's own words (which may
// name a command or an OS error) are only under an expandable "details".
// A card held at start-up is waiting (amber), not failed. Times are shown
// at the station's utc_offset, whatever the browser's zone.
"use strict";

const TEXT = {
  "zh-CN": {
    title: "烧录工位", pass: "合格", fail: "失败", left: "剩余身份", errors: "最近的错误",
    offline: "与工位服务断开连接，正在重连…", token: "请输入本工位的访问令牌", ok: "确定",
    slot: "卡槽", retry: "重试", none: "无",
    empty: "空", writing: "写入中", verifying: "校验中", done: "完成", failed: "失败",
    left_s: "剩余", insert: "请插入存储卡", remove: "请取出存储卡，贴标签",
    not_block: "卡槽路径不是块设备：不会写入（请检查配置）",
    system_disk: "这是运行系统所在的磁盘：绝不写入",
    in_use: "设备正在使用（已挂载）：未写入",
    read_only: "存储卡写保护：请拨动写保护开关后重新插入",
    too_small: "存储卡容量太小：未写入",
    held: "工位启动时卡已在槽中：请拔出重插，或按“重试”",
    pool_empty: "身份池已用完：未写入",
    pool_unavailable: "无法连接身份池数据库：未写入",
    stopped: "工位已停止：平台拒绝了此产品（见详情）。未写入，请联系工程师",
    pulled: "写入时存储卡被拔出：此卡不可用，身份已隔离",
    removed: "存储卡在写入前被取出：未写入",
    write_failed: "写入或校验失败：此卡不可用",
    internal: "内部错误：此卡不可用",
    waiting: "等待确认", do_not_pull: "请勿拔卡", details: "详情", zone: "时区",
    unreadable: "无法读取卡槽状态：卡槽保持原状态",
    journal_failed: "被拒绝的卡未能记入记录文件",
    label_failed: "标签未能生成：卡已合格",
    print_failed: "标签未能打印：卡已合格",
  },
  en: {
    title: "Burn station", pass: "Pass", fail: "Fail", left: "Identities left", errors: "Last errors",
    offline: "Lost the station service, reconnecting…", token: "Enter this station's access token", ok: "OK",
    slot: "Slot", retry: "Retry", none: "none",
    empty: "EMPTY", writing: "WRITING", verifying: "VERIFYING", done: "DONE", failed: "FAILED",
    left_s: "left", insert: "Insert a card", remove: "Take the card out and label it",
    not_block: "The slot path is not a block device: never written (check the config)",
    system_disk: "This is the running system's disk: never written",
    in_use: "The device is in use (mounted): not written",
    read_only: "The card is write-protected: slide its switch and put it back",
    too_small: "The card is too small: not written",
    held: "The card was in the slot when the station started: take it out and put it back, or press Retry",
    pool_empty: "The identity pool is empty: not written",
    pool_unavailable: "The pool database cannot be reached: not written",
    stopped: "The station has stopped: the platform refuses this product (see Details). Not written; call the engineer",
    pulled: "The card was taken out while being written: do not use it; its identity is quarantined",
    removed: "The card was taken out before it was written: nothing written",
    write_failed: "Writing or verifying failed: do not use this card",
    internal: "Internal error: do not use this card",
    waiting: "WAITING", do_not_pull: "Do not remove the card", details: "Details", zone: "zone",
    unreadable: "The slot cannot be looked at: it keeps its state",
    journal_failed: "A refused card could not be recorded in the card journal",
    label_failed: "The label could not be made: the card is good",
    print_failed: "The label was not printed: the card is good",
  },
};
const ICON = { empty: "○", writing: "⬇", verifying: "⟳", done: "✔", failed: "✖", waiting: "◷" };

let lang = localStorage.getItem("burnline-lang") || "zh-CN";
let last = null;
let source = null;

function t(key) { return (TEXT[lang] || TEXT.en)[key] || key; }

function token() { return localStorage.getItem("burnline-token") || ""; }

function setLang(l) {
  lang = TEXT[l] ? l : "en";
  localStorage.setItem("burnline-lang", lang);
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(el.dataset.t);
  for (const b of document.querySelectorAll("[data-lang]")) b.setAttribute("aria-pressed", String(b.dataset.lang === lang));
  if (last) render(last);
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

// The service's own words, folded under "details".
function details(text) {
  const d = el("details", "details");
  d.appendChild(el("summary", "", t("details")));
  d.appendChild(el("div", "raw", text));
  return d;
}

// HH:MM:SS of `secs` (since 1970) at `offset` minutes east of UTC.
function clock(secs, offset) {
  const d = new Date((secs + offset * 60) * 1000);
  const two = (n) => String(n).padStart(2, "0");
  return two(d.getUTCHours()) + ":" + two(d.getUTCMinutes()) + ":" + two(d.getUTCSeconds());
}

function zone(offset) {
  const a = Math.abs(offset);
  return "UTC" + (offset < 0 ? "-" : "+") + String(Math.floor(a / 60)).padStart(2, "0") + ":" + String(a % 60).padStart(2, "0");
}

function slotView(s) {
  const box = el("section", "slot");
  // A card held at start-up is not a failure: it waits for the operator.
  const shown = s.state === "failed" && s.kind === "held" ? "waiting" : s.state;
  box.dataset.slot = s.id;
  box.dataset.state = shown;
  const id = el("div", "id", t("slot") + " ");
  id.appendChild(el("b", "", s.id));
  box.appendChild(id);
  const st = el("div", "state");
  st.appendChild(el("span", "icon", ICON[shown] || "?"));
  const word = el("span", "word", t(shown));
  st.appendChild(word);
  box.appendChild(st);
  if (s.state === "writing" || s.state === "verifying") {
    box.dataset.percent = s.percent;
    const bar = el("div", "bar");
    const fill = el("div");
    fill.style.width = s.percent + "%";
    bar.appendChild(fill);
    box.appendChild(bar);
    let d = s.percent + "%";
    if (s.state === "writing") {
      d += " · " + s.mb_s.toFixed(1) + " MB/s";
      if (s.eta_s !== null && s.eta_s !== undefined) d += " · " + s.eta_s + " s " + t("left_s");
    }
    box.appendChild(el("div", "detail progress", d));
    box.appendChild(el("div", "warn", t("do_not_pull")));
  } else if (s.state === "done") {
    box.appendChild(el("div", "detail device-name", s.device_name));
    box.appendChild(el("div", "reason", t("remove")));
  } else if (s.state === "failed") {
    box.dataset.kind = s.kind;
    box.appendChild(el("div", "detail kind", t(s.kind)));
    box.appendChild(details(s.reason));
    const b = el("button", "retry", t("retry"));
    b.type = "button";
    b.addEventListener("click", () => retry(s.id));
    box.appendChild(b);
  } else {
    box.appendChild(el("div", "reason", t("insert")));
  }
  box.appendChild(el("div", "path", s.path));
  return box;
}

function render(snap) {
  last = snap;
  document.getElementById("station").textContent = snap.station;
  document.getElementById("pass").textContent = snap.counts.pass;
  document.getElementById("fail").textContent = snap.counts.fail;
  document.getElementById("remaining").textContent = snap.pool.remaining === null ? "–" : snap.pool.remaining;
  const pe = document.getElementById("pool-error");
  pe.hidden = !snap.pool.error;
  pe.replaceChildren();
  if (snap.pool.error) {
    pe.appendChild(el("div", "", t(snap.pool.kind || "pool_unavailable")));
    pe.appendChild(details(snap.pool.error));
  }
  const slots = document.getElementById("slots");
  slots.replaceChildren(...snap.slots.map(slotView));
  const errors = document.getElementById("errors");
  const offset = snap.utc_offset_minutes || 0;
  document.getElementById("zone").textContent = t("zone") + " " + zone(offset);
  errors.replaceChildren(...snap.errors.map((e) => {
    const said = clock(e.time, offset) + " · " + (e.slot ? t("slot") + " " + e.slot + ": " : "");
    const li = el("li", "", said + (e.kind ? t(e.kind) : e.message));
    if (e.kind) li.appendChild(details(e.message));
    return li;
  }));
  document.body.dataset.ready = "true";
}

async function retry(id) {
  const r = await fetch("/api/slots/" + encodeURIComponent(id) + "/retry", {
    method: "POST", headers: { Authorization: "Bearer " + token() },
  });
  if (r.status === 401) askToken();
}

function askToken() {
  if (source) source.close();
  source = null;
  document.getElementById("token-form").hidden = false;
  document.getElementById("token").focus();
}

async function connect() {
  // One plain request first: a 401 means the token is missing or wrong.
  let r;
  try {
    r = await fetch("/api/pool", { headers: { Authorization: "Bearer " + token() } });
  } catch (e) {
    document.getElementById("offline").hidden = false;
    setTimeout(connect, 2000);
    return;
  }
  if (r.status === 401) { askToken(); return; }
  source = new EventSource("/api/events?token=" + encodeURIComponent(token()));
  source.addEventListener("snapshot", (ev) => {
    document.getElementById("offline").hidden = true;
    render(JSON.parse(ev.data));
  });
  source.onerror = () => { document.getElementById("offline").hidden = false; };
}

document.getElementById("token-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  localStorage.setItem("burnline-token", document.getElementById("token").value);
  document.getElementById("token-form").hidden = true;
  connect();
});
for (const b of document.querySelectorAll("[data-lang]")) b.addEventListener("click", () => setLang(b.dataset.lang));
setLang(lang);
connect();
