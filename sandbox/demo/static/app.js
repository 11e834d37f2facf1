// The gigdesk demo page: renders the local Slack workspace from its Block Kit and sends a
// person's clicks to the demo server, which signs them as Slack would and posts them to the bot.
// Everything shown is untrusted text: nodes are built with textContent, never innerHTML.
"use strict";

(() => {
  const S = { state: null, version: "", view: "C_REVIEW", thread: null, cache: new Map(), modalKey: "", homeKey: "", followUntil: 0, stuck: true, followedTo: 0, modal: null };
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

  // Every block type the page renders (exported with ELEMENTS).
  const BLOCKS = {
    header: (b) => el("div", { class: "block block-header" }, withEmoji(plain(b.text))),
    divider: () => el("hr", { class: "divider" }),
    section: (b, ctx) => {
      const bid = b.block_id || "";
      const main = el("div", { class: "section-main" }, b.text ? el("div", {}, textObject(b.text)) : null);
      if (b.fields && b.fields.length) main.appendChild(el("div", { class: "fields" }, b.fields.map((f) => el("div", {}, textObject(f)))));
      const node = el("div", { class: "block section", "data-block-id": bid }, main);
      if (b.accessory) node.appendChild(control(b.accessory, bid, ctx));
      return node;
    },
    context: (b) => el("div", { class: "block context" }, (b.elements || []).map((e) => (CONTEXT_ELEMENTS[e.type] || unsupported)(e))),
    image: (b) => el("div", { class: "block image-block" }, b.title ? el("div", { class: "image-title" }, plain(b.title)) : null, imageNode(b)),
    actions: (b, ctx) => el("div", { class: "block actions", "data-block-id": b.block_id || "" },
      (b.elements || []).map((e) => control(e, b.block_id || "", ctx))),
    input: (b, ctx) => renderInput(b, ctx),
    rich_text: (b) => el("div", { class: "block" }, richText(b.elements || [])),
  };
  const CONTEXT_ELEMENTS = {
    image: (e) => imageNode(e),
    mrkdwn: (e) => el("span", {}, textObject(e)),
    plain_text: (e) => el("span", {}, textObject(e)),
  };
  const unsupported = (x) => el("span", { class: "context unsupported" }, `[${x.type}]`);

  function renderBlock(b, ctx) {
    return (BLOCKS[b.type] || ((x) => el("div", { class: "block context unsupported" }, `[${x.type} block]`)))(b, ctx);
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

  // ------------------------------------------------------------------ Block Kit elements
  //
  // One renderer per element type, wherever the element sits (an actions block, a section's
  // accessory, an input block; a message, the App Home or a modal). Each makes
  //   { node, read(), write(value) }   read(): the element's value in Slack's shape (selected_option,
  //                                    selected_date, selected_time, selected_users, …), write(): the same
  //                                    shape back (a modal re-rendered keeps what was typed or picked)
  // and calls opts.changed(fields) when the person picks something. Buttons and overflow menus hold
  // no state: they call opts.pressed(fields). A `confirm` on any element is asked first (see control()).

  const optionOf = (o) => (o ? { text: o.text, value: o.value } : null);
  const flatOptions = (e) => (e.option_groups ? e.option_groups.flatMap((g) => g.options || []) : (e.options || []));

  // The workspace's users, channels and conversations, as the pickers of users/channels list them.
  function workspaceChoices(kind) {
    if (kind === "users") return Object.entries(S.state.users || {}).map(([id, name]) => ({ value: id, label: name }));
    const channels = (S.state.channels || []).map((c) => ({ value: c.id, label: "#" + c.name }));
    if (kind === "channels") return channels;
    return channels.concat((S.state.dms || []).map((d) => ({ value: d.id, label: "💬 " + d.name })));
  }

  // An input block's label names its control; elsewhere (actions, an accessory) the placeholder does.
  const nameOf = (e, opts, fallback) => (opts.labelled ? undefined : plain(e.placeholder) || fallback);

  function selectBox(id, label, multiple, entries, picked, name) {
    const select = el("select", { id, multiple, "aria-label": name });
    if (!multiple) select.appendChild(el("option", { value: "" }, label || "Choose…"));
    for (const entry of entries) {
      if (entry.group) {
        select.appendChild(el("optgroup", { label: entry.group }, entry.items.map((i) => el("option", { value: i.value, selected: picked.includes(i.value) }, i.label))));
      } else {
        select.appendChild(el("option", { value: entry.value, selected: picked.includes(entry.value) }, entry.label));
      }
    }
    return select;
  }

  const chosenValues = (select) => [...select.selectedOptions].map((o) => o.value).filter(Boolean);
  const setChosen = (select, values) => { for (const o of select.options) o.selected = values.includes(o.value); };

  // static_select / multi_static_select: the element's options (or option groups).
  function staticSelect(e, opts, multiple) {
    const entries = e.option_groups
      ? e.option_groups.map((g) => ({ group: plain(g.label), items: (g.options || []).map((o) => ({ value: o.value, label: withEmoji(plain(o.text)) })) }))
      : (e.options || []).map((o) => ({ value: o.value, label: withEmoji(plain(o.text)) }));
    const picked = multiple ? (e.initial_options || []).map((o) => o.value) : [e.initial_option ? e.initial_option.value : ""];
    const node = selectBox(opts.id, plain(e.placeholder) || "Choose…", multiple, entries, picked, nameOf(e, opts, "Choose"));
    const find = (v) => optionOf(flatOptions(e).find((o) => o.value === v));
    const read = () => (multiple ? { selected_options: chosenValues(node).map(find).filter(Boolean) } : { selected_option: find(node.value) });
    const write = (v) => setChosen(node, multiple ? (v.selected_options || []).map((o) => o.value) : [v.selected_option ? v.selected_option.value : ""]);
    node.addEventListener("change", () => { if (multiple || node.value) opts.changed(read()); });
    return { node, read, write };
  }

  // users/conversations/channels selects (one or many): the stand-in's users and channels.
  function workspaceSelect(kind, key, initialKey, multiple) {
    return (e, opts) => {
      const initial = e[initialKey];
      const picked = multiple ? (initial || []) : [initial || ""];
      const node = selectBox(opts.id, plain(e.placeholder) || "Choose…", multiple, workspaceChoices(kind), picked, nameOf(e, opts, "Choose"));
      const read = () => ({ [key]: multiple ? chosenValues(node) : (node.value || null) });
      const write = (v) => setChosen(node, multiple ? (v[key] || []) : [v[key] || ""]);
      node.addEventListener("change", () => { if (multiple || node.value) opts.changed(read()); });
      return { node, read, write };
    };
  }

  // external_select / multi_external_select: a type-ahead whose options the app gives, asked for as
  // Slack asks (a block_suggestion to the app's options listener) each time the person types.
  function externalSelect(e, opts, multiple) {
    let chosen = multiple ? (e.initial_options || []).map(optionOf) : (e.initial_option ? [optionOf(e.initial_option)] : []);
    const label = plain(e.placeholder) || "Type to search";
    const input = el("input", { id: opts.id, type: "text", role: "combobox", autocomplete: "off", "aria-label": nameOf(e, opts, label),
                                "aria-expanded": "false", placeholder: label });
    const list = el("div", { class: "combo-list", role: "listbox", hidden: true });
    const chips = el("div", { class: "chips" });
    const minimum = Number.isInteger(e.min_query_length) ? e.min_query_length : 3;
    const show = () => {
      if (!multiple) { input.value = chosen[0] ? plain(chosen[0].text) : input.value; return; }
      chips.replaceChildren(...chosen.map((o) => el("span", { class: "chip" }, plain(o.text),
        el("button", { class: "link", type: "button", "aria-label": `Remove ${plain(o.text)}`, onclick: () => {
          chosen = chosen.filter((c) => c.value !== o.value); show(); opts.changed(read());
        } }, "×"))));
    };
    const pick = (o) => {
      chosen = multiple ? chosen.filter((c) => c.value !== o.value).concat([optionOf(o)]) : [optionOf(o)];
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.value = multiple ? "" : plain(o.text);
      show();
      opts.changed(read());
    };
    let asked = 0;
    const suggest = async () => {
      if (input.value.length < minimum) { list.hidden = true; return; }
      const mine = ++asked;
      const answer = await opts.suggest(input.value);
      if (mine !== asked) return;  // a later keystroke asked again
      const groups = answer.option_groups || [{ options: answer.options || [] }];
      list.replaceChildren(...groups.flatMap((g) => [g.label ? el("div", { class: "combo-group" }, plain(g.label)) : null]
        .concat((g.options || []).map((o) => el("div", { class: "combo-option", role: "option", tabindex: "-1", onclick: () => pick(o) }, withEmoji(plain(o.text))))))
        .filter(Boolean));
      if (!list.children.length) list.appendChild(el("div", { class: "combo-group" }, answer.ok === false ? (answer.error || "No answer") : "No matches"));
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    };
    let timer = 0;
    input.addEventListener("input", () => {
      if (!multiple) chosen = [];
      clearTimeout(timer);
      timer = setTimeout(suggest, 150);
    });
    input.addEventListener("focus", () => { if (minimum === 0 && list.hidden) suggest(); });
    const read = () => (multiple ? { selected_options: chosen.slice() } : { selected_option: chosen[0] || null });
    const write = (v) => { chosen = multiple ? (v.selected_options || []).slice() : (v.selected_option ? [v.selected_option] : []); show(); };
    show();
    return { node: el("div", { class: "combo" }, chips, input, list), read, write };
  }

  function choiceGroup(e, opts) {
    const name = `${e.action_id}-${Math.random().toString(36).slice(2)}`;
    const box = e.type === "checkboxes";
    const initials = (e.initial_options || []).map((o) => o.value).concat(e.initial_option ? [e.initial_option.value] : []);
    const node = el("div", { class: "choices", id: opts.id, role: box ? "group" : "radiogroup" }, (e.options || []).map((o) => el("label", { class: "choice" },
      el("input", { type: box ? "checkbox" : "radio", name, value: o.value, checked: initials.includes(o.value) }),
      " ", textObject(o.text), o.description ? el("div", { class: "hint" }, plain(o.description)) : null)));
    const picked = () => [...node.querySelectorAll("input:checked")].map((i) => optionOf((e.options || []).find((o) => o.value === i.value))).filter(Boolean);
    const read = () => (box ? { selected_options: picked() } : { selected_option: picked()[0] || null });
    const write = (v) => {
      const values = box ? (v.selected_options || []).map((o) => o.value) : [v.selected_option && v.selected_option.value];
      for (const i of node.querySelectorAll("input")) i.checked = values.includes(i.value);
    };
    node.addEventListener("change", () => opts.changed(read()));
    return { node, read, write };
  }

  // A native input whose value is one Slack field (value, selected_date, selected_time, …).
  function fieldInput(attrs, key, { toSlack = (v) => v, fromSlack = (v) => v, initial = () => "", multiline = false } = {}) {
    return (e, opts) => {
      const a = { id: opts.id, maxlength: e.max_length, minlength: e.min_length, placeholder: plain(e.placeholder), ...attrs(e) };
      const node = multiline && e.multiline ? el("textarea", a, initial(e) || "") : el("input", { ...a, value: initial(e) || "" });
      const read = () => ({ [key]: node.value === "" ? null : toSlack(node.value) });
      const write = (v) => { node.value = v[key] === null || v[key] === undefined ? "" : fromSlack(v[key]); };
      node.addEventListener("change", () => opts.changed(read()));
      return { node, read, write };
    };
  }

  const pad2 = (n) => String(n).padStart(2, "0");
  const localDateTime = (seconds) => { const d = new Date(seconds * 1000); return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}T${pad2(d.getHours())}:${pad2(d.getMinutes())}`; };

  function button(e, opts) {
    const url = safeUrl(e.url);
    const node = el("button", { class: `btn ${e.style || ""}`, type: "button", "data-action-id": e.action_id }, withEmoji(plain(e.text)));
    node.addEventListener("click", async (ev) => {
      const pressed = ev.currentTarget;  // null once the handler awaits (the confirm dialog): keep it now
      pressed.disabled = true;
      try {
        const answer = await opts.pressed({ text: e.text, value: e.value || "", ...(e.style ? { style: e.style } : {}) });
        if (answer && url) window.open(url, "_blank", "noopener");
      } finally {
        pressed.disabled = false;
      }
    });
    return { node };
  }

  function overflow(e, opts) {
    const menu = el("div", { class: "overflow-menu", hidden: true, role: "menu" }, (e.options || []).map((o) =>
      el("button", { type: "button", role: "menuitem", onclick: async () => {
        menu.hidden = true;
        const answer = await opts.pressed({ selected_option: optionOf(o) });
        const url = safeUrl(o.url);
        if (answer && url) window.open(url, "_blank", "noopener");
      } }, withEmoji(plain(o.text)))));
    const toggle = el("button", { class: "btn", type: "button", "aria-label": "More actions", onclick: () => { menu.hidden = !menu.hidden; } }, "⋯");
    return { node: el("span", { class: "overflow" }, toggle, menu) };
  }

  function fileInput(e, opts) {
    const files = [];
    const node = el("input", { id: opts.id, type: "file", accept: (e.filetypes || []).map((t) => "." + t).join(",") });
    node.addEventListener("change", async () => {
      files.length = 0;
      for (const f of node.files) files.push(await upload(f));
    });
    return { node, read: () => ({ files: files.filter(Boolean) }), write: () => {} };
  }

  const text = (e) => e.initial_value;
  // Every element type the page renders and operates. Exported (window.gigdeskBlockKit) for the
  // test that fails when the bot sends a type missing here.
  const ELEMENTS = {
    button,
    overflow,
    static_select: (e, o) => staticSelect(e, o, false),
    multi_static_select: (e, o) => staticSelect(e, o, true),
    external_select: (e, o) => externalSelect(e, o, false),
    multi_external_select: (e, o) => externalSelect(e, o, true),
    users_select: workspaceSelect("users", "selected_user", "initial_user", false),
    multi_users_select: workspaceSelect("users", "selected_users", "initial_users", true),
    conversations_select: workspaceSelect("conversations", "selected_conversation", "initial_conversation", false),
    multi_conversations_select: workspaceSelect("conversations", "selected_conversations", "initial_conversations", true),
    channels_select: workspaceSelect("channels", "selected_channel", "initial_channel", false),
    multi_channels_select: workspaceSelect("channels", "selected_channels", "initial_channels", true),
    checkboxes: choiceGroup,
    radio_buttons: choiceGroup,
    datepicker: fieldInput(() => ({ type: "date" }), "selected_date", { initial: (e) => e.initial_date }),
    timepicker: fieldInput(() => ({ type: "time" }), "selected_time", { initial: (e) => e.initial_time }),
    datetimepicker: fieldInput(() => ({ type: "datetime-local" }), "selected_date_time", {
      initial: (e) => (e.initial_date_time ? localDateTime(e.initial_date_time) : ""),
      toSlack: (v) => Math.floor(new Date(v).getTime() / 1000), fromSlack: localDateTime }),
    plain_text_input: fieldInput(() => ({ type: "text" }), "value", { initial: text, multiline: true }),
    email_text_input: fieldInput(() => ({ type: "email" }), "value", { initial: text }),
    url_text_input: fieldInput(() => ({ type: "url" }), "value", { initial: text }),
    number_input: fieldInput((e) => ({ type: "number", step: e.is_decimal_allowed ? "any" : "1", min: e.min_value, max: e.max_value }), "value", { initial: text }),
    file_input: fileInput,
    image: (e) => ({ node: imageNode(e, "accessory-image") }),
  };

  // One element: its renderer, the confirm dialog it asks for (on a press or a pick), and its
  // state registered with the surface (view.state.values / a message's state.values).
  function control(e, blockId, ctx, { inInput = false, dispatch = true, id } = {}) {
    const make = ELEMENTS[e.type];
    if (!make) return el("span", { class: "context unsupported" }, `[${e.type}]`);
    const base = { type: e.type, action_id: e.action_id, block_id: blockId };
    const ask = async (fields) => {
      if (e.confirm && !(await confirmDialog(e.confirm))) return null;
      return act(ctx, { ...base, ...fields });
    };
    let made = null;
    const changed = async (fields) => {
      if (!dispatch) return;
      const answer = await ask(fields);
      if (answer === null && made.write) made.write(made.before);  // the person said no: undo the pick
      else if (made.read) made.before = made.read();
    };
    made = make(e, { id: id || `el-${blockId}-${e.action_id}`, labelled: inInput, pressed: ask, changed,
                     suggest: (value) => post("/api/suggest", { ...where(ctx), action_id: e.action_id, block_id: blockId, value }) });
    if (made.read) {
      made.before = made.read();
      if (ctx.inputs) ctx.inputs.push({ block_id: blockId, action_id: e.action_id, read: () => ({ type: e.type, ...made.read() }),
                                        write: made.write, initial: JSON.stringify(made.before) });
    }
    if (inInput) made.node.classList.add("input-control");
    return made.node;
  }

  // An input block: label, element, hint, and the bot's error for it (response_action: errors).
  function renderInput(b, ctx) {
    const e = b.element || {};
    const id = `in-${b.block_id}-${e.action_id}`;
    const node = control(e, b.block_id, ctx, { inInput: true, dispatch: Boolean(b.dispatch_action), id });
    const error = ((ctx.errors || {})[b.block_id]);
    return el("div", { class: `block input-block${error ? " has-error" : ""}`, "data-block-id": b.block_id },
      el("label", { class: "input-label", for: id }, plain(b.label), b.optional ? el("span", { class: "optional" }, " (optional)") : null),
      node,
      b.hint ? el("div", { class: "hint" }, plain(b.hint)) : null,
      error ? el("div", { class: "error", role: "alert" }, error) : null);
  }

  // What the person typed or picked (not what the view set initially): a views.update keeps it, as Slack does.
  function changedValues(inputs) {
    return stateValues((inputs || []).filter((i) => { const { type, ...now } = i.read(); return JSON.stringify(now) !== i.initial; }));
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
      overlay.addEventListener("keydown", (ev) => { if (ev.key === "Escape") done(false); });  // as Slack: Esc is No
      document.body.appendChild(overlay);
      overlay.querySelector(".modal-foot .btn").focus();
    });
  }

  function renderModal() {
    const modals = S.state.modals || [];
    const top = modals[modals.length - 1];
    const key = top ? top.id + top.hash + JSON.stringify(top.errors || {}) : "";
    if (key === S.modalKey) return;
    S.modalKey = key;
    const root = $("modal-root");
    // Like Slack, what the person typed or picked survives errors and updates of the same view.
    const kept = top && S.modal && S.modal.view_id === top.id ? changedValues(S.modal.inputs) : {};
    root.replaceChildren();
    S.modal = null;
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
    const dialog = el("form", { class: "modal", role: "dialog", "aria-label": plain(top.title), onsubmit: submit, novalidate: true },
      el("div", { class: "modal-head" }, el("span", {}, plain(top.title)), el("button", { class: "link", type: "button", "aria-label": "Close", onclick: close }, "✕")),
      el("div", { class: "modal-body" }, renderBlocks(top.blocks, ctx)),
      el("div", { class: "modal-foot" },
        el("button", { class: "btn", type: "button", onclick: close }, plain(top.close) || "Cancel"),
        top.submit ? el("button", { class: "btn primary", type: "submit" }, plain(top.submit)) : null));
    root.appendChild(el("div", { class: "overlay" }, dialog));
    for (const input of ctx.inputs) {
      const old = (kept[input.block_id] || {})[input.action_id];
      if (old && input.write) input.write(old);
    }
    S.modal = ctx;
    // The first field the bot refused, where the person can see it (Slack scrolls to it too).
    const refused = dialog.querySelector(".input-block.has-error");
    if (refused) refused.scrollIntoView({ block: "center" });
  }

  // ------------------------------------------------------------------ the workspace

  const channelName = (id) => ((S.state.channels || []).concat(S.state.dms || []).find((c) => c.id === id) || { name: id }).name;
  const isDirect = (id) => (S.state.dms || []).some((d) => d.id === id);

  function timeOf(ts) {
    return new Date(Number(String(ts).split(".")[0]) * 1000).toLocaleTimeString("en-US", { hour: "numeric", minute: "2-digit" });
  }

  function messageNode(m, where, inThread) {
    const ctx = { ...where, inputs: [] };  // the message's own state.values, as Slack sends them with a click
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
    const nodes = items.map((i) => cached(i.key, i.content, i.node));
    if (!nodes.length) nodes.push(el("div", { class: "empty" }, "No messages yet: the bot posts here within a few seconds."));
    box.replaceChildren(...nodes);
    follow();
    $("main-title").replaceChildren(el("span", {}, (isDirect(channel) ? "" : "# ") + channelName(channel)));
    $("composer").hidden = false;
    renderThread();
  }

  // Like Slack, the channel follows new messages (and images growing as they load) unless the
  // reader has scrolled up; for a while after sending a command it follows anyway (its answer comes later).
  const nearBottom = (box) => box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  function follow() {
    const box = $("messages");
    if (box.dataset.view === "home") return;
    // Moved up since we last followed, and its scroll event has not landed yet: the reader's choice wins.
    if (box.scrollTop < S.followedTo - 2 && !nearBottom(box)) S.stuck = false;
    if (S.stuck || Date.now() < S.followUntil) {
      box.scrollTop = box.scrollHeight;
      S.followedTo = box.scrollTop;
    }
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
      onclick: () => { S.view = c.id; S.thread = null; S.stuck = true; S.followedTo = 0; render(); },
    }, "# " + c.name)));
    $("dm-list").replaceChildren(...(S.state.dms || []).map((d) => el("button", {
      class: `nav-item ${S.view === d.id ? "active" : ""}`, type: "button", "data-channel": d.id,
      onclick: () => { S.view = d.id; S.thread = null; S.stuck = true; S.followedTo = 0; render(); },
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

  // Which surface an element sits on, as the demo server needs it to address the bot.
  const where = (ctx) => ({ where: ctx.where, channel: ctx.channel, ts: ctx.ts, ephemeral_id: ctx.ephemeral_id, view_id: ctx.view_id });

  async function act(ctx, action) {
    const body = { ...where(ctx), action, state: ctx.inputs ? stateValues(ctx.inputs) : {} };
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
    S.stuck = nearBottom($("messages"));
    S.followedTo = $("messages").scrollTop;
  });
  $("thread-close").addEventListener("click", () => { S.thread = null; render(); });
  document.addEventListener("click", (ev) => {
    if (!ev.target.closest(".overflow")) document.querySelectorAll(".overflow-menu").forEach((m) => { m.hidden = true; });
  });
  // Only the reader moving up unsticks it: content growing below (an image getting its size) moves nothing.
  $("messages").addEventListener("scroll", () => {
    const box = $("messages");
    if (box.dataset.view === "home") return;
    if (nearBottom(box)) S.stuck = true;
    else if (box.scrollTop < S.followedTo - 2) S.stuck = false;
  });
  $("messages").addEventListener("load", follow, true);  // an image above grew the channel: stay at the newest
  // What the page renders, for the test that fails when the bot sends a Block Kit type missing here.
  window.gigdeskBlockKit = Object.freeze({ blocks: Object.keys(BLOCKS), elements: Object.keys(ELEMENTS), context: Object.keys(CONTEXT_ELEMENTS) });
  loop();
})();
