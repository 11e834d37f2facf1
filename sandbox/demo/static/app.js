// The gigdesk demo page: renders the local Slack workspace from its Block Kit and sends a
// person's clicks to the demo server, which signs them as Slack would and posts them to the bot.
// Everything shown is untrusted text: nodes are built with textContent, never innerHTML.
"use strict";

(() => {
  const S = { state: null, version: "", view: "C_REVIEW", thread: null, cache: new Map(), modalKey: "", homeKey: "", followUntil: 0 };
  const $ = (id) => document.getElementById(id);

  // ------------------------------------------------------------------ DOM helpers

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === "class") node.className = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.appendChild(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  const safeUrl = (url) => /^(https?:|mailto:)/i.test(String(url || "")) ? String(url) : null;
  // A file shared in the workspace, served by the demo page itself (the page made this link).
  const fileUrl = (url) => /^\/files\/[A-Za-z0-9_-]+\/[A-Za-z0-9%._~-]+$/.test(String(url || "")) ? String(url) : null;
  const INLINE_IMAGES = ["image/png", "image/jpeg", "image/gif", "image/webp"];

  // The files of a message, as Slack shows them: an image inline (its preview), anything else as a download.
  function filesNode(files) {
    return el("div", { class: "files" }, files.map((f) => {
      const url = fileUrl(f.url);
      if (!url) return el("span", { class: "context" }, `[file: ${f.name || ""}]`);
      if (INLINE_IMAGES.includes(f.mimetype)) {
        return el("figure", { class: "file file-image" },
          el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, el("img", { src: url, alt: f.alt_txt || f.title || f.name })),
          el("figcaption", {}, f.title || f.name));
      }
      return el("a", { class: "file file-download", href: url, download: f.name, "data-file": f.name }, `📄 ${f.title || f.name}`,
        el("span", { class: "file-name" }, ` (${f.name})`));
    }));
  }
  const plain = (t) => (t && typeof t === "object" ? t.text : t) || "";

  // ------------------------------------------------------------------ mrkdwn

  const EMOJI = {
    white_check_mark: "✅", heavy_check_mark: "✔️", x: "❌", warning: "⚠️", moneybag: "💰", hourglass: "⌛",
    hourglass_flowing_sand: "⏳", rotating_light: "🚨", tada: "🎉", calendar: "📅", date: "📅", bar_chart: "📊",
    money_with_wings: "💸", no_entry: "⛔", no_entry_sign: "🚫", eyes: "👀", mag: "🔍", construction_worker: "👷",
    clipboard: "📋", bell: "🔔", red_circle: "🔴", large_green_circle: "🟢", large_yellow_circle: "🟡",
    white_circle: "⚪", information_source: "ℹ️", memo: "📝", camera: "📷", link: "🔗", lock: "🔒", repeat: "🔁",
    arrows_counterclockwise: "🔄", star: "⭐", stopwatch: "⏱️", busts_in_silhouette: "👥", bust_in_silhouette: "👤",
    office: "🏢", package: "📦", wave: "👋", zap: "⚡", chart_with_upwards_trend: "📈", chart_with_downwards_trend: "📉",
    receipt: "🧾", credit_card: "💳", pushpin: "📌", briefcase: "💼", question: "❓", exclamation: "❗",
    heavy_plus_sign: "➕", ok: "🆗", sunrise: "🌅", inbox_tray: "📥", outbox_tray: "📤", hammer_and_wrench: "🛠️",
    thumbsup: "👍", "+1": "👍", thumbsdown: "👎", mailbox: "📫", email: "📧", envelope: "✉️", robot_face: "🤖",
    house: "🏠", gear: "⚙️", shield: "🛡️", mag_right: "🔎", crossed_swords: "⚔️", dollar: "💵", moneybag_: "💰",
    truck: "🚚", spiral_calendar_pad: "🗓️", clock3: "🕒", alarm_clock: "⏰", sparkles: "✨", fire: "🔥", pencil2: "✏️",
    wastebasket: "🗑️", arrow_right: "➡️", leftwards_arrow_with_hook: "↩️", heavy_minus_sign: "➖", black_circle: "⚫",
    arrow_forward: "▶️", checkered_flag: "🏁", double_vertical_bar: "⏸️", grey_question: "❔", heavy_multiplication_x: "✖️",
    mega: "📣", newspaper: "📰", raised_hand: "✋",
  };

  const decode = (s) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
  const withEmoji = (s) => s.replace(/:([a-z0-9_+\-]+):/g, (m, name) => EMOJI[name] || m);

  function formatDate(seconds, format, fallback) {
    const d = new Date(Number(seconds) * 1000);
    if (isNaN(d.getTime())) return fallback;
    const pad = (n) => String(n).padStart(2, "0");
    const date = (opts) => d.toLocaleDateString("en-US", opts);
    return format
      .replace(/\{date_num\}/g, `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`)
      .replace(/\{date_long(_pretty)?\}/g, date({ weekday: "long", month: "long", day: "numeric", year: "numeric" }))
      .replace(/\{date(_pretty)?\}/g, date({ month: "long", day: "numeric", year: "numeric" }))
      .replace(/\{date_short(_pretty)?\}/g, date({ month: "short", day: "numeric", year: "numeric" }))
      .replace(/\{time_secs\}/g, d.toLocaleTimeString("en-US", { hour: "numeric", minute: "2-digit", second: "2-digit" }))
      .replace(/\{time\}/g, d.toLocaleTimeString("en-US", { hour: "numeric", minute: "2-digit" }))
      .replace(/\{ago\}/g, agoText(d));
  }

  function agoText(d) {
    const minutes = Math.round((Date.now() - d.getTime()) / 60000);
    if (Math.abs(minutes) < 60) return minutes >= 0 ? `${minutes} minutes ago` : `in ${-minutes} minutes`;
    const hours = Math.round(minutes / 60);
    if (Math.abs(hours) < 48) return hours >= 0 ? `${hours} hours ago` : `in ${-hours} hours`;
    const days = Math.round(hours / 24);
    return days >= 0 ? `${days} days ago` : `in ${-days} days`;
  }

  function angle(inner) {
    const [target, label] = splitOnce(inner, "|");
    const users = (S.state && S.state.users) || {};
    if (target.startsWith("@")) return el("span", { class: "mention" }, "@" + (label || users[target.slice(1)] || target.slice(1)));
    if (target.startsWith("#")) return el("span", { class: "mention" }, "#" + (label || channelName(target.slice(1))));
    if (target.startsWith("!date^")) {
      const [, seconds, format] = target.split("^");
      return document.createTextNode(formatDate(seconds, format || "{date_num}", decode(label || "")));
    }
    if (target.startsWith("!subteam^")) return el("span", { class: "mention" }, "@" + (label || "group"));
    if (target.startsWith("!")) return el("span", { class: "mention loud" }, "@" + target.slice(1));
    const href = safeUrl(decode(target));
    const text = decode(label || target);
    return href ? el("a", { href, target: "_blank", rel: "noopener noreferrer" }, text) : document.createTextNode(text);
  }

  function splitOnce(s, sep) {
    const i = s.indexOf(sep);
    return i < 0 ? [s, ""] : [s.slice(0, i), s.slice(i + 1)];
  }

  const RULES = [
    [/```([\s\S]*?)```/, (m) => el("pre", {}, decode(m[1]))],
    [/`([^`\n]+)`/, (m) => el("code", {}, decode(m[1]))],
    [/<([^<>\n]+)>/, (m) => angle(m[1])],
    [/(^|[\s(\[{"'])\*(?=\S)([^*\n]*?\S)\*(?=$|[\s.,;:!?)\]}"'])/, (m) => el("b", {}, mrkdwn(m[2])), true],
    [/(^|[\s(\[{"'])_(?=\S)([^_\n]*?\S)_(?=$|[\s.,;:!?)\]}"'])/, (m) => el("i", {}, mrkdwn(m[2])), true],
    [/(^|[\s(\[{"'])~(?=\S)([^~\n]*?\S)~(?=$|[\s.,;:!?)\]}"'])/, (m) => el("s", {}, mrkdwn(m[2])), true],
  ];

  function mrkdwn(text) {
    const out = document.createDocumentFragment();
    let rest = String(text || "");
    while (rest) {
      let best = null;
      for (const [re, make, lead] of RULES) {
        const m = re.exec(rest);
        if (!m) continue;
        const start = m.index + (lead ? m[1].length : 0);
        if (!best || start < best.start) best = { m, make, start, end: m.index + m[0].length };
      }
      if (!best) { out.appendChild(lines(withEmoji(decode(rest)))); break; }
      if (best.start > 0) out.appendChild(lines(withEmoji(decode(rest.slice(0, best.start)))));
      out.appendChild(best.make(best.m));
      rest = rest.slice(best.end);
    }
    return out;
  }

  function lines(text) {
    const frag = document.createDocumentFragment();
    text.split("\n").forEach((line, i) => {
      if (i) frag.appendChild(el("br"));
      if (line) frag.appendChild(document.createTextNode(line));
    });
    return frag;
  }

  const textObject = (t) => (t && t.type === "mrkdwn" ? mrkdwn(t.text) : lines(withEmoji(plain(t))));

  // ------------------------------------------------------------------ Block Kit

  function renderBlocks(blocks, ctx) {
    const wrap = el("div", { class: "blocks" });
    for (const block of blocks || []) wrap.appendChild(renderBlock(block, ctx));
    return wrap;
  }

  function renderBlock(b, ctx) {
    const bid = b.block_id || "";
    switch (b.type) {
      case "header":
        return el("div", { class: "block block-header" }, withEmoji(plain(b.text)));
      case "divider":
        return el("hr", { class: "divider" });
      case "section": {
        const main = el("div", { class: "section-main" }, b.text ? el("div", {}, textObject(b.text)) : null);
        if (b.fields && b.fields.length) main.appendChild(el("div", { class: "fields" }, b.fields.map((f) => el("div", {}, textObject(f)))));
        const node = el("div", { class: "block section", "data-block-id": bid }, main);
        if (b.accessory) node.appendChild(b.accessory.type === "image"
          ? imageNode(b.accessory, "accessory-image") : renderElement(b.accessory, bid, ctx));
        return node;
      }
      case "context":
        return el("div", { class: "block context" }, (b.elements || []).map((e) => e.type === "image" ? imageNode(e) : el("span", {}, textObject(e))));
      case "image":
        return el("div", { class: "block image-block" }, b.title ? el("div", { class: "image-title" }, plain(b.title)) : null, imageNode(b));
      case "actions":
        return el("div", { class: "block actions", "data-block-id": bid }, (b.elements || []).map((e) => renderElement(e, bid, ctx)));
      case "input":
        return renderInput(b, ctx);
      case "rich_text":
        return el("div", { class: "block" }, richText(b.elements || []));
      default:
        return el("div", { class: "block context" }, `[${b.type} block]`);
    }
  }

  function richText(elements) {
    const frag = document.createDocumentFragment();
    for (const e of elements) {
      if (e.type === "text") frag.appendChild(document.createTextNode(e.text || ""));
      else if (e.type === "link") { const href = safeUrl(e.url); frag.appendChild(href ? el("a", { href, target: "_blank", rel: "noopener noreferrer" }, e.text || e.url) : document.createTextNode(e.text || "")); }
      else if (e.type === "user") frag.appendChild(el("span", { class: "mention" }, "@" + ((S.state.users || {})[e.user_id] || e.user_id)));
      else if (e.type === "emoji") frag.appendChild(document.createTextNode(EMOJI[e.name] || `:${e.name}:`));
      else if (e.elements) frag.appendChild(el(e.type === "rich_text_preformatted" ? "pre" : "div", {}, richText(e.elements)));
    }
    return frag;
  }

  function imageNode(img, cls) {
    const src = safeUrl(img.image_url);
    if (!src) return el("span", { class: "context" }, `[image: ${img.alt_text || ""}]`);
    const node = el("img", { src, alt: img.alt_text || "", class: cls, loading: "lazy" });
    node.addEventListener("error", () => node.replaceWith(el("span", { class: "context" }, `[image could not be loaded: ${img.alt_text || ""}]`)));
    return node;
  }

  // An interactive element in a message, the App Home or a modal (outside an input block).
  function renderElement(e, blockId, ctx) {
    const base = { type: e.type, action_id: e.action_id, block_id: blockId };
    switch (e.type) {
      case "button": {
        const url = safeUrl(e.url);
        const click = async (ev) => {
          if (e.confirm && !(await confirmDialog(e.confirm))) return;
          const btn = ev.currentTarget;
          btn.disabled = true;
          await act(ctx, { ...base, text: e.text, value: e.value || "", ...(e.style ? { style: e.style } : {}) });
          btn.disabled = false;
          if (url) window.open(url, "_blank", "noopener");
        };
        return el("button", { class: `btn ${e.style || ""}`, type: "button", onclick: click, "data-action-id": e.action_id }, withEmoji(plain(e.text)));
      }
      case "overflow": {
        const box = el("span", { class: "overflow" });
        const menu = el("div", { class: "overflow-menu", hidden: true, role: "menu" }, (e.options || []).map((o) =>
          el("button", { type: "button", role: "menuitem", onclick: async () => {
            menu.hidden = true;
            if (e.confirm && !(await confirmDialog(e.confirm))) return;
            const url = safeUrl(o.url);
            await act(ctx, { ...base, selected_option: { text: o.text, value: o.value } });
            if (url) window.open(url, "_blank", "noopener");
          } }, withEmoji(plain(o.text)))));
        box.append(el("button", { class: "btn", type: "button", "aria-label": "More actions", onclick: () => { menu.hidden = !menu.hidden; } }, "⋯"), menu);
        return box;
      }
      case "static_select": case "external_select": case "users_select": case "conversations_select": case "channels_select": {
        const select = selectNode(e);
        select.addEventListener("change", async () => {
          if (!select.value) return;
          if (e.confirm && !(await confirmDialog(e.confirm))) return;
          await act(ctx, { ...base, ...selection(e, select) });
        });
        return select;
      }
      case "datepicker": {
        const input = el("input", { type: "date", value: e.initial_date || "" });
        input.addEventListener("change", () => act(ctx, { ...base, selected_date: input.value }));
        return input;
      }
      case "checkboxes": case "radio_buttons": {
        const group = choiceGroup(e);
        group.addEventListener("change", () => act(ctx, { ...base, ...choiceValue(e, group) }));
        return group;
      }
      default:
        return el("span", { class: "context" }, `[${e.type}]`);
    }
  }

  function options(e) {
    if (e.option_groups) return e.option_groups.flatMap((g) => g.options || []);
    if (e.type === "users_select" || e.type === "multi_users_select") {
      return Object.entries(S.state.users || {}).map(([id, name]) => ({ value: id, text: { type: "plain_text", text: name } }));
    }
    if (/conversations_select|channels_select/.test(e.type)) {
      return (S.state.channels || []).map((c) => ({ value: c.id, text: { type: "plain_text", text: "#" + c.name } }));
    }
    return e.options || [];
  }

  function selectNode(e, multiple) {
    const initial = e.initial_option ? e.initial_option.value : (e.initial_user || e.initial_conversation || e.initial_channel || "");
    const initials = new Set((e.initial_options || []).map((o) => o.value).concat(e.initial_users || [], e.initial_conversations || []));
    const select = el("select", { multiple, "aria-label": plain(e.placeholder) || "Choose" });
    if (!multiple) select.appendChild(el("option", { value: "" }, plain(e.placeholder) || "Choose…"));
    for (const o of options(e)) {
      select.appendChild(el("option", { value: o.value, selected: o.value === initial || initials.has(o.value) }, withEmoji(plain(o.text))));
    }
    return select;
  }

  function selection(e, select) {
    const value = select.value;
    if (e.type === "users_select") return { selected_user: value };
    if (e.type === "conversations_select") return { selected_conversation: value };
    if (e.type === "channels_select") return { selected_channel: value };
    const o = options(e).find((x) => x.value === value);
    return { selected_option: o ? { text: o.text, value: o.value } : null };
  }

  function choiceGroup(e) {
    const name = `${e.action_id}-${Math.random().toString(36).slice(2)}`;
    const initials = new Set((e.initial_options || []).map((o) => o.value).concat(e.initial_option ? [e.initial_option.value] : []));
    return el("div", { class: "choices" }, (e.options || []).map((o) => el("label", { class: "choice" },
      el("input", { type: e.type === "checkboxes" ? "checkbox" : "radio", name, value: o.value, checked: initials.has(o.value) }),
      " ", textObject(o.text), o.description ? el("div", { class: "hint" }, plain(o.description)) : null)));
  }

  function choiceValue(e, group) {
    const picked = [...group.querySelectorAll("input:checked")].map((i) => (e.options || []).find((o) => o.value === i.value)).filter(Boolean)
      .map((o) => ({ text: o.text, value: o.value }));
    return e.type === "checkboxes" ? { selected_options: picked } : { selected_option: picked[0] || null };
  }

  // An input block (modals): its element registers a reader for the view's state.values.
  function renderInput(b, ctx) {
    const e = b.element || {};
    const id = `in-${b.block_id}-${e.action_id}`;
    let node, read;
    switch (e.type) {
      case "plain_text_input":
      case "email_text_input":
      case "url_text_input":
      case "number_input": {
        const attrs = { id, maxlength: e.max_length, placeholder: plain(e.placeholder) };
        if (e.multiline) node = el("textarea", attrs, e.initial_value || "");
        else node = el("input", { ...attrs, type: e.type === "number_input" ? "number" : "text", value: e.initial_value || "", step: e.is_decimal_allowed ? "any" : undefined });
        read = () => ({ type: e.type, value: node.value === "" ? null : node.value });
        break;
      }
      case "static_select": case "external_select": case "users_select": case "conversations_select": case "channels_select": {
        node = selectNode(e);
        node.id = id;
        read = () => ({ type: e.type, ...(node.value ? selection(e, node) : emptySelection(e)) });
        break;
      }
      case "multi_static_select": case "multi_users_select": case "multi_conversations_select": {
        node = selectNode(e, true);
        node.id = id;
        read = () => {
          const values = [...node.selectedOptions].map((o) => o.value);
          if (e.type === "multi_users_select") return { type: e.type, selected_users: values };
          if (e.type === "multi_conversations_select") return { type: e.type, selected_conversations: values };
          return { type: e.type, selected_options: options(e).filter((o) => values.includes(o.value)).map((o) => ({ text: o.text, value: o.value })) };
        };
        break;
      }
      case "checkboxes": case "radio_buttons": {
        node = choiceGroup(e);
        read = () => ({ type: e.type, ...choiceValue(e, node) });
        break;
      }
      case "datepicker": {
        node = el("input", { id, type: "date", value: e.initial_date || "" });
        read = () => ({ type: e.type, selected_date: node.value || null });
        break;
      }
      case "file_input": {
        const files = [];
        node = el("input", { id, type: "file", accept: (e.filetypes || []).map((t) => "." + t).join(",") });
        node.addEventListener("change", async () => {
          files.length = 0;
          for (const f of node.files) files.push(await upload(f));
        });
        read = () => ({ type: e.type, files: files.filter(Boolean) });
        break;
      }
      default:
        node = el("span", { class: "context" }, `[${e.type}]`);
        read = () => ({ type: e.type });
    }
    if (ctx.inputs) ctx.inputs.push({ block_id: b.block_id, action_id: e.action_id, read });
    const error = ((ctx.errors || {})[b.block_id]);
    return el("div", { class: "block input-block", "data-block-id": b.block_id },
      el("label", { class: "input-label", for: id }, plain(b.label), b.optional ? el("span", { class: "optional" }, " (optional)") : null),
      node,
      b.hint ? el("div", { class: "hint" }, plain(b.hint)) : null,
      error ? el("div", { class: "error", role: "alert" }, error) : null);
  }

  function emptySelection(e) {
    if (e.type === "users_select") return { selected_user: null };
    if (e.type === "conversations_select") return { selected_conversation: null };
    if (e.type === "channels_select") return { selected_channel: null };
    return { selected_option: null };
  }

  function stateValues(inputs) {
    const values = {};
    for (const i of inputs || []) (values[i.block_id] = values[i.block_id] || {})[i.action_id] = i.read();
    return values;
  }

  function upload(file) {
    return new Promise((resolve) => {
      const reader = new FileReader();
      reader.onload = async () => {
        const content = String(reader.result).split(",", 2)[1] || "";
        const answer = await post("/api/file", { name: file.name, mimetype: file.type, content });
        resolve(answer.ok ? answer.file : null);
      };
      reader.readAsDataURL(file);
    });
  }

  // ------------------------------------------------------------------ dialogs and modals

  function confirmDialog(c) {
    return new Promise((resolve) => {
      const done = (answer) => { overlay.remove(); resolve(answer); };
      const overlay = el("div", { class: "overlay confirm-overlay" }, el("div", { class: "modal dialog", role: "alertdialog", "aria-label": plain(c.title) || "Are you sure?" },
        el("div", { class: "modal-head" }, plain(c.title) || "Are you sure?"),
        el("div", { class: "modal-body" }, textObject(c.text)),
        el("div", { class: "modal-foot" },
          el("button", { class: "btn", type: "button", onclick: () => done(false) }, plain(c.deny) || "Cancel"),
          el("button", { class: `btn ${c.style === "danger" ? "danger" : "primary"}`, type: "button", onclick: () => done(true) }, plain(c.confirm) || "Yes"))));
      document.body.appendChild(overlay);
    });
  }

  function renderModal() {
    const modals = S.state.modals || [];
    const top = modals[modals.length - 1];
    const key = top ? top.id + top.hash + JSON.stringify(top.errors || {}) : "";
    if (key === S.modalKey) return;
    S.modalKey = key;
    const root = $("modal-root");
    // Like Slack, what the person typed survives errors and updates of the same view.
    const kept = top && root.dataset.viewId === top.id ? typedValues(root) : {};
    root.replaceChildren();
    root.dataset.viewId = top ? top.id : "";
    if (!top) return;
    const ctx = { where: "view", view_id: top.id, inputs: [], errors: top.errors };
    const close = () => post("/api/close", { view_id: top.id }).then(refreshSoon);
    const submit = async (ev) => {
      ev.preventDefault();
      ev.submitter && (ev.submitter.disabled = true);
      const answer = await post("/api/submit", { view_id: top.id, values: stateValues(ctx.inputs) });
      if (!answer.ok) note(answer.error);
      S.modalKey = null;  // show what the bot answered (errors, an update) even if the view is unchanged
      refreshSoon();
    };
    const dialog = el("form", { class: "modal", role: "dialog", "aria-label": plain(top.title), onsubmit: submit },
      el("div", { class: "modal-head" }, el("span", {}, plain(top.title)), el("button", { class: "link", type: "button", "aria-label": "Close", onclick: close }, "✕")),
      el("div", { class: "modal-body" }, renderBlocks(top.blocks, ctx)),
      el("div", { class: "modal-foot" },
        el("button", { class: "btn", type: "button", onclick: close }, plain(top.close) || "Cancel"),
        top.submit ? el("button", { class: "btn primary", type: "submit" }, plain(top.submit)) : null));
    root.appendChild(el("div", { class: "overlay" }, dialog));
    restoreValues(root, kept);
  }

  function fields(root) {
    const out = {};
    for (const block of root.querySelectorAll(".input-block[data-block-id]")) {
      out[block.dataset.blockId] = [...block.querySelectorAll("input:not([type=file]), textarea, select")];
    }
    return out;
  }

  function typedValues(root) {
    const values = {};
    for (const [blockId, nodes] of Object.entries(fields(root))) {
      values[blockId] = nodes.map((n) => (n.type === "checkbox" || n.type === "radio" ? n.checked
        : n.multiple ? [...n.selectedOptions].map((o) => o.value) : n.value));
    }
    return values;
  }

  function restoreValues(root, values) {
    for (const [blockId, nodes] of Object.entries(fields(root))) {
      const old = values[blockId];
      if (!old || old.length !== nodes.length) continue;
      nodes.forEach((n, i) => {
        if (n.type === "checkbox" || n.type === "radio") n.checked = Boolean(old[i]);
        else if (n.multiple) [...n.options].forEach((o) => { o.selected = old[i].includes(o.value); });
        else n.value = old[i];
      });
    }
  }

  // ------------------------------------------------------------------ the workspace

  const channelName = (id) => ((S.state.channels || []).concat(S.state.dms || []).find((c) => c.id === id) || { name: id }).name;
  const isDirect = (id) => (S.state.dms || []).some((d) => d.id === id);

  function timeOf(ts) {
    return new Date(Number(String(ts).split(".")[0]) * 1000).toLocaleTimeString("en-US", { hour: "numeric", minute: "2-digit" });
  }

  function messageNode(m, ctx, inThread) {
    const isBot = Boolean(m.bot_id) || m.user === "UBOT";
    const who = isBot ? "gigdesk" : ((S.state.users || {})[m.user] || m.user);
    const body = el("div", { class: "msg-body" },
      el("div", { class: "msg-head" }, el("span", { class: "who" }, who), isBot ? el("span", { class: "app-tag" }, "APP") : null,
        el("span", { class: "when" }, timeOf(m.ts)), m.edited ? el("span", { class: "edited" }, "(edited)") : null),
      m.blocks && m.blocks.length ? renderBlocks(m.blocks, ctx) : el("div", {}, mrkdwn(m.text)),
      m.files && m.files.length ? filesNode(m.files) : null);
    for (const a of m.attachments || []) {
      body.appendChild(el("div", { class: "attachment", style: undefined }, a.blocks ? renderBlocks(a.blocks, ctx) : mrkdwn(a.text || a.fallback || "")));
    }
    if (!inThread && m.replies && m.replies.length) {
      body.appendChild(el("button", { class: "replies", type: "button", onclick: () => { S.thread = { channel: ctx.channel, ts: m.ts }; render(); } },
        `${m.replies.length} ${m.replies.length === 1 ? "reply" : "replies"}`));
    }
    return el("div", { class: "msg", "data-ts": m.ts }, el("div", { class: `avatar ${isBot ? "" : "user"}` }, isBot ? "g" : who.slice(0, 1)), body);
  }

  function ephemeralNode(e) {
    const ctx = { where: "ephemeral", channel: e.channel, ts: e.ts, ephemeral_id: e.id };
    const node = messageNode({ ts: e.ts, bot_id: "B", text: e.text, blocks: e.blocks }, ctx, true);
    node.classList.add("ephemeral");
    node.querySelector(".msg-head").appendChild(el("span", { class: "ephemeral-note" }, " · Only visible to you"));
    return node;
  }

  // Reuse a message's node while its content is unchanged: selects, menus and scroll stay put.
  function cached(key, content, make) {
    const json = JSON.stringify(content);
    const hit = S.cache.get(key);
    if (hit && hit.json === json) return hit.node;
    const node = make();
    S.cache.set(key, { json, node });
    return node;
  }

  function renderChannel() {
    const channel = S.view;
    const roots = (S.state.messages[channel] || []).map((m) => ({ ts: m.ts, node: () => messageNode(m, { where: "message", channel, ts: m.ts }), key: `m:${channel}:${m.ts}`, content: m }));
    const ephemerals = (S.state.ephemerals || []).filter((e) => e.channel === channel && !e.thread_ts)
      .map((e) => ({ ts: e.ts, node: () => ephemeralNode(e), key: `e:${e.id}`, content: e }));
    const items = roots.concat(ephemerals).sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
    const box = $("messages");
    // Follow new messages when at the bottom, and for a while after sending a command (its answer comes later).
    const atBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 80 || Date.now() < S.followUntil;
    const nodes = items.map((i) => cached(i.key, i.content, i.node));
    if (!nodes.length) nodes.push(el("div", { class: "empty" }, "No messages yet: the bot posts here within a few seconds."));
    box.replaceChildren(...nodes);
    if (atBottom) box.scrollTop = box.scrollHeight;
    $("main-title").replaceChildren(el("span", {}, (isDirect(channel) ? "" : "# ") + channelName(channel)));
    $("composer").hidden = false;
    renderThread();
  }

  function renderThread() {
    const pane = $("thread");
    const t = S.thread;
    const root = t && (S.state.messages[t.channel] || []).find((m) => m.ts === t.ts);
    pane.hidden = !root || S.view !== t.channel;
    if (pane.hidden) return;
    const ctx = (m) => ({ where: "message", channel: t.channel, ts: m.ts });
    const nodes = [root].concat(root.replies || []).map((m) => cached(`t:${t.channel}:${m.ts}`, m, () => messageNode(m, ctx(m), true)));
    $("thread-messages").replaceChildren(...nodes);
  }

  function renderHome() {
    const home = S.state.home;
    const key = home ? home.id + home.hash : "none";
    $("main-title").replaceChildren(el("span", {}, "gigdesk · Home"));
    $("composer").hidden = true;
    $("thread").hidden = true;
    if (key === S.homeKey && $("messages").dataset.view === "home") return;
    S.homeKey = key;
    const box = $("messages");
    box.dataset.view = "home";
    box.replaceChildren(home ? el("div", { class: "home" }, renderBlocks(home.blocks, { where: "view", view_id: home.id, inputs: [] }))
      : el("div", { class: "empty" }, "Opening the App Home…"));
  }

  function renderNav() {
    const list = $("channel-list");
    list.replaceChildren(...(S.state.channels || []).map((c) => el("button", {
      class: `nav-item ${S.view === c.id ? "active" : ""}`, type: "button", "data-channel": c.id,
      onclick: () => { S.view = c.id; S.thread = null; render(); },
    }, "# " + c.name)));
    $("dm-list").replaceChildren(...(S.state.dms || []).map((d) => el("button", {
      class: `nav-item ${S.view === d.id ? "active" : ""}`, type: "button", "data-channel": d.id,
      onclick: () => { S.view = d.id; S.thread = null; render(); },
    }, "💬 " + d.name)));
    $("nav-home").classList.toggle("active", S.view === "home");
  }

  function render() {
    if (!S.state) return;
    renderNav();
    if (S.view === "home") renderHome();
    else { $("messages").dataset.view = S.view; renderChannel(); }
    renderModal();
  }

  // ------------------------------------------------------------------ talking to the demo server

  async function post(path, body) {
    try {
      const r = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      return await r.json();
    } catch (err) {
      return { ok: false, error: "the demo server is not answering (was it stopped?)" };
    }
  }

  async function act(ctx, action) {
    const body = { where: ctx.where, channel: ctx.channel, ts: ctx.ts, ephemeral_id: ctx.ephemeral_id, view_id: ctx.view_id, action,
                   state: ctx.inputs ? stateValues(ctx.inputs) : {} };
    const answer = await post("/api/action", body);
    if (!answer.ok) note(answer.error);
    refreshSoon();
    return answer;
  }

  function note(text) {
    $("composer-note").textContent = text || "";
  }

  async function refresh() {
    try {
      const r = await fetch(`/api/state?version=${encodeURIComponent(S.version)}`);
      const state = await r.json();
      if (state.version !== S.version && state.messages) {
        S.state = state;
        S.version = state.version;
        render();
      }
    } catch (err) {
      note("the demo server is not answering (was it stopped?)");
    }
  }

  let quick = 0;
  function refreshSoon() { quick = 6; refresh(); }
  async function loop() {
    await refresh();
    setTimeout(loop, quick-- > 0 ? 250 : 1000);
  }

  $("composer").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const input = $("composer-input");
    const text = input.value.trim();
    if (!text) return;
    note("");
    S.followUntil = Date.now() + 5000;
    const answer = await post("/api/command", { channel: S.view, text });
    if (answer.ok) input.value = "";
    else note(answer.error);
    refreshSoon();
  });
  $("nav-home").addEventListener("click", () => { S.view = "home"; render(); post("/api/home", {}).then(refreshSoon); });
  // A permalink to a message of this workspace opens it here (the stand-in's links name no real host).
  document.addEventListener("click", (ev) => {
    const a = ev.target.closest("a[href]");
    const m = a && /^https:\/\/gigdesk-standin\.slack\.invalid\/archives\/([A-Z0-9_]+)\/p(\d{10})(\d{6})/.exec(a.href);
    if (!m) return;
    ev.preventDefault();
    S.view = m[1];
    S.thread = null;
    render();
    const target = document.querySelector(`.msg[data-ts="${m[2]}.${m[3]}"]`);
    if (target) target.scrollIntoView({ block: "center" });
  });
  $("thread-close").addEventListener("click", () => { S.thread = null; render(); });
  document.addEventListener("click", (ev) => {
    if (!ev.target.closest(".overflow")) document.querySelectorAll(".overflow-menu").forEach((m) => { m.hidden = true; });
  });
  loop();
})();
