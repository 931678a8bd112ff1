// The transcript page's behaviour (inlined by src/export/html.rs): click a word to
// play from it; the word being spoken highlighted and kept in view; a speaker
// timeline that seeks; search across words; copy with speaker and time.
// The transcript itself is in the markup. This script reads it and adds to it with
// textContent only, never markup, so no text from a recording can become code.
(() => {
  "use strict";

  // A word stays highlighted this long after its end, over the short pauses between words.
  const HOLD_SECONDS = 0.75;
  // After the reader scrolls, the view stops following the audio for this long.
  const READER_SCROLL_MS = 5000;
  // Arrow keys on the timeline move this far.
  const STEP_SECONDS = 5;

  const data = JSON.parse(document.getElementById("page-data").textContent);
  const player = document.getElementById("player");
  const header = document.querySelector(".top");
  const transcript = document.getElementById("transcript");
  const timeline = document.getElementById("timeline");
  const form = document.getElementById("search");
  const query = document.getElementById("q");
  const hitCount = document.getElementById("hits");
  const status = document.getElementById("status");
  const words = Array.from(transcript.querySelectorAll(".w"));
  const starts = Float64Array.from(words, (w) => Number(w.dataset.start));
  const ends = Float64Array.from(words, (w) => Number(w.dataset.end));

  /** `hh:mm:ss`, spelled as the transcript's other formats spell times. */
  function clock(seconds) {
    const s = Math.floor(Math.round(Math.max(0, seconds) * 1000) / 1000);
    return [Math.floor(s / 3600), Math.floor(s / 60) % 60, s % 60]
      .map((n) => String(n).padStart(2, "0"))
      .join(":");
  }

  function say(text) {
    status.textContent = text;
  }

  // ---- Playing and following --------------------------------------------------

  function seek(seconds, play) {
    player.currentTime = seconds;
    if (play && player.getAttribute("src")) {
      // A refused autoplay still leaves the position set; the reader presses play.
      player.play().catch(() => {});
    }
    follow();
  }

  /** The word spoken at `t`: the last to start by then, while it lasts (and a
   * little after); -1 in a pause or before the first word. Binary search. */
  function wordAt(t) {
    let lo = 0;
    let hi = starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid] <= t) lo = mid + 1;
      else hi = mid;
    }
    const i = lo - 1;
    return i >= 0 && t <= ends[i] + HOLD_SECONDS ? i : -1;
  }

  let current = -1;
  let readerScrolledAt = -Infinity;

  function follow() {
    movePlayhead();
    const i = wordAt(player.currentTime);
    if (i === current) return;
    if (current >= 0) words[current].classList.remove("current");
    current = i;
    if (i < 0) return;
    words[i].classList.add("current");
    if (performance.now() - readerScrolledAt > READER_SCROLL_MS) keepInView(words[i]);
  }

  /** Scrolls only when the word has left the view (below the sticky header). */
  function keepInView(element) {
    const box = element.getBoundingClientRect();
    if (box.top < header.getBoundingClientRect().bottom || box.bottom > window.innerHeight) {
      element.scrollIntoView({ block: "center" });
    }
  }

  // timeupdate comes a few times a second; while playing, every frame follows too.
  let frame = 0;
  function tick() {
    follow();
    frame = player.paused ? 0 : requestAnimationFrame(tick);
  }
  player.addEventListener("play", () => {
    if (!frame) frame = requestAnimationFrame(tick);
  });
  for (const type of ["timeupdate", "seeked", "pause"]) player.addEventListener(type, follow);
  for (const type of ["wheel", "touchmove"]) {
    window.addEventListener(type, () => (readerScrolledAt = performance.now()), { passive: true });
  }
  window.addEventListener("keydown", (event) => {
    if (["PageUp", "PageDown", "ArrowUp", "ArrowDown", "Home", "End", " "].includes(event.key)) {
      readerScrolledAt = performance.now();
    }
  });

  transcript.addEventListener("click", (event) => {
    const target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    const copyButton = target.closest(".copy-turn");
    const timeButton = target.closest(".time");
    const word = target.closest(".w");
    if (copyButton) copyText(citation(copyButton.closest(".turn"), null));
    else if (timeButton) seek(Number(timeButton.dataset.start), true);
    // A drag that selects words is for copying, not for seeking.
    else if (word && window.getSelection().isCollapsed) seek(Number(word.dataset.start), true);
  });

  // ---- Speaker timeline ---------------------------------------------------------

  let playhead = null;
  let lastAnnounced = -1;

  function percent(seconds) {
    return `${(100 * seconds) / data.duration}%`;
  }

  /** A lane: its name, then its track. */
  function addLane(name, colour) {
    const lane = document.createElement("div");
    lane.className = colour === null ? "lane" : `lane c${colour}`;
    const label = document.createElement("span");
    label.className = "lane-name";
    label.textContent = name;
    label.title = name;
    const track = document.createElement("div");
    track.className = "track";
    lane.append(label, track);
    timeline.append(lane);
    return track;
  }

  function addBar(track, start, end, className) {
    const bar = document.createElement("div");
    bar.className = className;
    bar.style.left = percent(start);
    bar.style.width = percent(Math.max(0, end - start));
    track.append(bar);
  }

  function buildTimeline() {
    if (!data.speakers.length || !(data.duration > 0)) return;
    const tracks = data.speakers.map((s) => addLane(s.name, s.colour));
    for (const [start, end, lane] of data.turns) {
      addBar(tracks[lane], start, end, `bar c${data.speakers[lane].colour}`);
    }
    if (data.crosstalk.length) {
      const track = addLane("crosstalk", null);
      for (const [start, end] of data.crosstalk) addBar(track, start, end, "bar crosstalk");
    }
    const layer = document.createElement("div");
    layer.className = "playheads";
    playhead = document.createElement("div");
    playhead.className = "playhead";
    layer.append(playhead);
    timeline.append(layer);

    timeline.tabIndex = 0;
    timeline.setAttribute("role", "slider");
    timeline.setAttribute("aria-label", "Speaker timeline: click or use the arrow keys to seek");
    timeline.setAttribute("aria-valuemin", "0");
    timeline.setAttribute("aria-valuemax", String(Math.round(data.duration)));
    timeline.addEventListener("click", (event) => {
      const box = tracks[0].getBoundingClientRect();
      if (event.clientX < box.left) return; // a lane's name, not a time
      const fraction = Math.min(1, (event.clientX - box.left) / box.width);
      seek(fraction * data.duration, false);
    });
    timeline.addEventListener("keydown", seekByKey);
    timeline.hidden = false;
    movePlayhead();
  }

  function seekByKey(event) {
    const now = player.currentTime;
    const to = {
      ArrowLeft: now - STEP_SECONDS,
      ArrowRight: now + STEP_SECONDS,
      Home: 0,
      End: data.duration,
    }[event.key];
    if (to === undefined) return;
    event.preventDefault();
    seek(Math.min(data.duration, Math.max(0, to)), false);
  }

  function movePlayhead() {
    if (!playhead) return;
    const t = player.currentTime;
    playhead.style.left = percent(Math.min(t, data.duration));
    const second = Math.floor(t);
    if (second !== lastAnnounced) {
      lastAnnounced = second;
      timeline.setAttribute("aria-valuenow", String(second));
      timeline.setAttribute("aria-valuetext", clock(t));
    }
  }

  // ---- Search -------------------------------------------------------------------

  /** Lower case, accents, punctuation and spaces gone: "Didn't," finds "didnt". */
  function normalize(text) {
    return text
      .toLowerCase()
      .normalize("NFKD")
      .replace(/\p{M}/gu, "")
      .replace(/[^\p{L}\p{N}]/gu, "");
  }

  const keys = words.map((w) => normalize(w.textContent));
  // Words with a letter or digit: a phrase runs across these, skipping "&" or "—".
  const spoken = keys.flatMap((key, i) => (key ? [i] : []));
  let hits = [];
  let at = -1;
  let searched = null;
  let marked = [];
  let markedCurrent = [];

  /** Every run of words that spells the query's terms, the last term as a prefix
   * (so a word is found while it is typed): [first word, last word] pairs. */
  function find(text) {
    const terms = text.split(/\s+/).map(normalize).filter(Boolean);
    const found = [];
    if (!terms.length) return found;
    const last = terms.length - 1;
    const matches = (k, key) => (k < last ? key === terms[k] : key.startsWith(terms[k]));
    for (let j = 0; j + last < spoken.length; j++) {
      let k = 0;
      while (k <= last && matches(k, keys[spoken[j + k]])) k++;
      if (k > last) found.push([spoken[j], spoken[j + last]]);
    }
    return found;
  }

  function mark(list, className, from, to) {
    for (let i = from; i <= to; i++) {
      words[i].classList.add(className);
      list.push(words[i]);
    }
  }

  function unmark(list, ...classNames) {
    for (const w of list) w.classList.remove(...classNames);
    list.length = 0;
  }

  function search() {
    searched = query.value;
    hits = find(searched);
    unmark(marked, "hit", "hit-current");
    for (const [first, last] of hits) mark(marked, "hit", first, last);
    at = -1;
    if (hits.length) jump(1);
    else hitCount.textContent = searched.trim() ? "no match" : "";
  }

  /** Moves to the next (+1) or previous (-1) hit, marks it and scrolls to it. */
  function jump(step) {
    if (searched !== query.value) return search();
    if (!hits.length) return;
    at = (at + step + hits.length) % hits.length;
    unmark(markedCurrent, "hit-current");
    const [first, last] = hits[at];
    mark(markedCurrent, "hit-current", first, last);
    words[first].scrollIntoView({ block: "center" });
    readerScrolledAt = performance.now(); // the reader went there: stay
    hitCount.textContent = `${at + 1} of ${hits.length}`;
  }

  let typing = 0;
  query.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(search, 150);
  });
  query.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.shiftKey) {
      event.preventDefault();
      jump(-1);
    } else if (event.key === "Escape") {
      query.value = "";
      search();
    }
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(typing);
    jump(1);
  });
  document.getElementById("prev").addEventListener("click", () => jump(-1));

  // ---- Copy with speaker and time -------------------------------------------------

  /** `Name [hh:mm:ss]: words` for `chosen` words of a turn (all of them when null). */
  function citation(turn, chosen) {
    const spans = chosen || Array.from(turn.querySelectorAll(".w"));
    const name = turn.querySelector(".speaker");
    const when = `[${clock(Number(spans[0].dataset.start))}]`;
    const text = spans.map((w) => w.textContent).join(" ");
    return name ? `${name.textContent} ${when}: ${text}` : `${when}: ${text}`;
  }

  function copySelection() {
    const selection = window.getSelection();
    const chosen = selection.isCollapsed ? [] : words.filter((w) => selection.containsNode(w, true));
    if (!chosen.length) {
      say("Select words in the transcript first.");
      return;
    }
    const byTurn = new Map();
    for (const w of chosen) {
      const turn = w.closest(".turn");
      if (!byTurn.has(turn)) byTurn.set(turn, []);
      byTurn.get(turn).push(w);
    }
    copyText(Array.from(byTurn, ([turn, spans]) => citation(turn, spans)).join("\n"));
  }

  async function copyText(text) {
    let copied = false;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        copied = true;
      }
    } catch {
      copied = false;
    }
    if (!copied) copied = copyByCommand(text);
    const shown = text.length > 80 ? `${text.slice(0, 77)}…` : text;
    say(copied ? `Copied: ${shown}` : "The browser refused to copy: select the words and copy them by hand.");
  }

  /** The old way, where the clipboard API is missing or refused. */
  function copyByCommand(text) {
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.append(area);
    area.select();
    let copied = false;
    try {
      copied = document.execCommand("copy");
    } catch {
      copied = false;
    }
    area.remove();
    return copied;
  }

  const copySelectionButton = document.getElementById("copy-selection");
  // Pressing the button must not clear the selection it copies.
  copySelectionButton.addEventListener("mousedown", (event) => event.preventDefault());
  copySelectionButton.addEventListener("click", copySelection);

  function addCopyButtons() {
    for (const head of transcript.querySelectorAll(".turn .head")) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "copy-turn";
      button.textContent = "Copy";
      button.title = "Copy this turn with speaker and time";
      head.append(button);
    }
  }

  addCopyButtons();
  buildTimeline();
  form.hidden = false;
  follow();
})();
