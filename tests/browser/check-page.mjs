// Checks a spacescribe transcript page (STEM.html) in headless Chromium, driven over
// the DevTools protocol by puppeteer-core: it loads, fetches nothing but itself and
// its audio, seeks where a word is clicked, highlights the spoken word while it
// plays, finds words, seeks from the speaker timeline, copies with speaker and time,
// and runs no script but its own whatever the names, titles and words say.
//
//   node check-page.mjs PAGE [--find WORD] [--expect-text TEXT]... [--screenshot FILE]
//
// --find: a word known to be in the transcript (searched for).
// --expect-text: a string that must show literally on the page (hostile input).
// --screenshot: a 1280x900 PNG of the page once checked.
// Exits 0 when every check holds, else 1, one line per failed check on stderr.
// Run by tests/page.rs; Chromium is /usr/bin/chromium unless $CHROMIUM says otherwise.

import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import puppeteer from "puppeteer-core";

const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
// How far the player's position may be from where a click sent it.
const SEEK_TOLERANCE = 0.05;
// How far a highlight may lag the position: one animation frame and a read.
const FOLLOW_TOLERANCE = 0.1;
const VIEWPORT = { width: 1280, height: 900 };

const failures = [];
let passed = 0;

function check(ok, what) {
  if (ok) passed += 1;
  else failures.push(what);
  return ok;
}

function usage(message) {
  console.error(`check-page: ${message}`);
  console.error("usage: node check-page.mjs PAGE [--find WORD] [--expect-text TEXT]... [--screenshot FILE]");
  process.exit(2);
}

function options() {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      find: { type: "string" },
      "expect-text": { type: "string", multiple: true, default: [] },
      screenshot: { type: "string" },
    },
  });
  if (positionals.length !== 1) usage("give one page");
  const page = path.resolve(positionals[0]);
  if (!existsSync(page)) usage(`${page}: no such file`);
  if (!existsSync(CHROMIUM)) usage(`${CHROMIUM} missing: run ./scripts/setup (Debian chromium)`);
  return { page, find: values.find, expectText: values["expect-text"], screenshot: values.screenshot };
}

/** The player's source as written in the page, resolved against it (null if none). */
function audioUrl(pageFile, pageUrl) {
  const html = readFileSync(pageFile, "utf8");
  const src = /<audio id="player"[^>]*\ssrc="([^"]*)"/.exec(html);
  if (!src) return null;
  const text = src[1]
    .replaceAll("&quot;", '"')
    .replaceAll("&#39;", "'")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&amp;", "&");
  return new URL(text, pageUrl).href;
}

/** Lets through the page and its audio only; records everything else, refused.
 * Inline images (`data:`) are let through too: Chromium's own player controls draw
 * their icons from them, and they reach nothing outside the page. */
async function guardRequests(page, allowed) {
  const seen = { allowed: [], refused: [] };
  await page.setRequestInterception(true);
  page.on("request", (request) => {
    const url = request.url().split("#")[0];
    const inlineImage = url.startsWith("data:") && request.resourceType() === "image";
    if (allowed.has(url) || inlineImage) {
      seen.allowed.push(url);
      request.continue();
    } else {
      seen.refused.push(`${request.resourceType()} ${url}`);
      request.abort();
    }
  });
  return seen;
}

function watchErrors(page) {
  const seen = { console: [], page: [], dialogs: [] };
  page.on("console", (m) => m.type() === "error" && seen.console.push(m.text()));
  page.on("pageerror", (e) => seen.page.push(String(e.message || e)));
  page.on("dialog", async (d) => {
    seen.dialogs.push(`${d.type()}: ${d.message()}`);
    await d.dismiss();
  });
  return seen;
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function pause(page) {
  await page.evaluate(() => document.getElementById("player").pause());
}

/** Clicks the `n`th word of the transcript (centred first: the header is sticky). */
async function clickWord(page, n) {
  const word = await page.evaluateHandle((n) => {
    const w = document.querySelectorAll("#transcript .w")[n];
    w.scrollIntoView({ block: "center" });
    return w;
  }, n);
  await word.click();
  return word;
}

async function checkLayout(page) {
  const layout = await page.evaluate(() => ({
    words: document.querySelectorAll("#transcript .w[data-start][data-end]").length,
    turns: document.querySelectorAll("#transcript .turn").length,
    named: document.querySelectorAll("#transcript .turn .speaker").length,
    lanes: document.querySelectorAll("#timeline .track").length,
    speakers: JSON.parse(document.getElementById("page-data").textContent).speakers.length,
    searchShown: !document.getElementById("search").hidden,
  }));
  check(layout.words > 10, `the page shows too few timed words (${layout.words})`);
  check(layout.named === layout.turns && layout.turns > 1, `every turn names its speaker (${layout.named} of ${layout.turns})`);
  check(layout.lanes >= layout.speakers && layout.speakers >= 2, `the timeline has a lane per speaker (${layout.lanes} for ${layout.speakers})`);
  check(layout.searchShown, "the search tools are shown once the script runs");
  return layout;
}

async function checkClickSeeks(page, layout) {
  const n = Math.floor(layout.words / 3);
  const word = await clickWord(page, n);
  const { t, start } = await word.evaluate((w) => ({
    t: document.getElementById("player").currentTime,
    start: Number(w.dataset.start),
  }));
  await pause(page);
  check(Math.abs(t - start) <= SEEK_TOLERANCE, `clicking word ${n} (starts ${start} s) put the player at ${t} s`);
}

/** Plays from a quarter of the way in for ~1.6 s, sampling the highlight. */
async function checkHighlightFollows(page, layout) {
  await clickWord(page, Math.floor(layout.words / 4));
  const samples = [];
  for (let i = 0; i < 8; i++) {
    await sleep(200);
    samples.push(
      await page.evaluate(() => {
        const words = Array.from(document.querySelectorAll("#transcript .w"));
        const current = document.querySelector("#transcript .w.current");
        const i = words.indexOf(current);
        const next = words[i + 1];
        return {
          t: document.getElementById("player").currentTime,
          i,
          start: current ? Number(current.dataset.start) : null,
          nextStart: next ? Number(next.dataset.start) : Infinity,
        };
      }),
    );
  }
  await pause(page);
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (!check(last.t - first.t > 1.0, `the audio did not play (${first.t} s -> ${last.t} s in 1.4 s)`)) return;
  const lit = samples.filter((s) => s.i >= 0);
  check(lit.length >= samples.length / 2, `a word was highlighted in only ${lit.length} of ${samples.length} samples`);
  check(lit.length > 1 && lit[lit.length - 1].i > lit[0].i, `the highlight did not move on (word ${lit[0]?.i} -> ${lit[lit.length - 1]?.i})`);
  for (const s of lit) {
    check(
      s.start - FOLLOW_TOLERANCE <= s.t && s.t <= s.nextStart + FOLLOW_TOLERANCE,
      `at ${s.t} s the highlighted word runs ${s.start} s to the next at ${s.nextStart} s`,
    );
  }
}

async function checkSearch(page, word) {
  await page.click("#q");
  await page.keyboard.type(word);
  await page.keyboard.press("Enter");
  await page.waitForFunction(() => /^\d+ of \d+$/.test(document.getElementById("hits").textContent), { timeout: 3000 }).catch(() => {});
  const found = await page.evaluate(() => {
    const marked = Array.from(document.querySelectorAll("#transcript .w.hit-current"));
    const box = marked.length && marked[0].getBoundingClientRect();
    return {
      count: document.getElementById("hits").textContent,
      text: marked.length ? marked.map((w) => w.textContent).join(" ") : null,
      inView: Boolean(box) && box.top >= 0 && box.bottom <= window.innerHeight,
    };
  });
  const [, at, total] = /^(\d+) of (\d+)$/.exec(found.count) || [];
  if (!check(Number(total) > 0 && at === "1", `searching "${word}" found nothing (hits: "${found.count}")`)) return;
  const plain = (s) => s.toLowerCase().replace(/[^\p{L}\p{N}]/gu, "");
  check(found.text !== null && plain(found.text).startsWith(plain(word)), `the marked hit "${found.text}" does not spell "${word}"`);
  check(found.inView, "the page did not scroll to the hit");
  await page.keyboard.down("Shift");
  await page.keyboard.press("Enter");
  await page.keyboard.up("Shift");
  const back = await page.$eval("#hits", (e) => e.textContent);
  check(back === `${total} of ${total}`, `previous from the first hit should wrap to the last (got "${back}")`);
}

async function checkTimelineSeeks(page) {
  const box = await page.$eval("#timeline .track", (e) => {
    const r = e.getBoundingClientRect();
    return { left: r.left, top: r.top, width: r.width, height: r.height };
  });
  const duration = await page.evaluate(() => JSON.parse(document.getElementById("page-data").textContent).duration);
  const x = box.left + 0.6 * box.width;
  await page.mouse.click(x, box.top + box.height / 2);
  const t = await page.evaluate(() => document.getElementById("player").currentTime);
  const expected = ((x - box.left) / box.width) * duration;
  const onePixel = duration / box.width;
  check(Math.abs(t - expected) <= onePixel + SEEK_TOLERANCE, `clicking the timeline at ${expected.toFixed(2)} s put the player at ${t} s`);
}

/** Copies through a stand-in clipboard, so the check reads what was copied. */
async function checkCopy(page) {
  await page.evaluate(() => {
    window.__copied = null;
    Object.defineProperty(navigator, "clipboard", {
      configurable: true,
      value: { writeText: async (text) => (window.__copied = text) },
    });
  });
  const turn = await page.evaluate(() => {
    const t = document.querySelector("#transcript .turn");
    const words = Array.from(t.querySelectorAll(".w")).map((w) => w.textContent);
    return { name: t.querySelector(".speaker").textContent, time: t.querySelector(".time").textContent, words };
  });
  await page.evaluate(() => document.querySelector("#transcript .turn").scrollIntoView({ block: "center" }));
  await page.click("#transcript .turn .copy-turn");
  await page.waitForFunction(() => window.__copied !== null, { timeout: 2000 }).catch(() => {});
  const copied = await page.evaluate(() => window.__copied);
  const expected = `${turn.name} [${turn.time}]: ${turn.words.join(" ")}`;
  check(copied === expected, `copying a turn gave ${JSON.stringify(copied)}, not ${JSON.stringify(expected)}`);
}

async function checkNothingRan(page, expectText) {
  const state = await page.evaluate(() => ({
    pwned: typeof window.__pwned,
    images: document.querySelectorAll("img").length,
    scripts: document.scripts.length,
    text: document.body.innerText,
    title: document.title,
  }));
  check(state.pwned === "undefined", `a script from the data ran (window.__pwned is ${state.pwned})`);
  check(state.images === 0, `the page has ${state.images} <img> elements`);
  check(state.scripts === 2, `the page has ${state.scripts} scripts, not its own two`);
  for (const text of expectText) {
    check(state.text.includes(text) || state.title.includes(text), `${JSON.stringify(text)} is not shown as text`);
  }
}

async function screenshot(page, file) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await clickWord(page, 5);
  await pause(page);
  await page.evaluate(() => {
    document.getElementById("status").textContent = "";
    window.scrollTo(0, 0);
  });
  await sleep(100);
  await page.screenshot({ path: file, type: "png" });
}

async function main() {
  const opts = options();
  const pageUrl = pathToFileURL(opts.page).href;
  const audio = audioUrl(opts.page, pageUrl);
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--no-sandbox", "--autoplay-policy=no-user-gesture-required", "--mute-audio"],
    defaultViewport: VIEWPORT,
  });
  try {
    const page = await browser.newPage();
    // Instant scrolling: a smooth scroll would still be moving when a check reads positions.
    await page.emulateMediaFeatures([{ name: "prefers-reduced-motion", value: "reduce" }]);
    const errors = watchErrors(page);
    const requests = await guardRequests(page, new Set([pageUrl, audio].filter(Boolean)));
    await page.goto(pageUrl, { waitUntil: "load" });
    if (check(audio !== null, "the page has no audio source")) {
      await page
        .waitForFunction(() => document.getElementById("player").readyState >= 1, { timeout: 15000 })
        .catch(() => check(false, `the audio ${audio} did not load`));
    }
    await checkNothingRan(page, opts.expectText);
    const layout = await checkLayout(page);
    await checkClickSeeks(page, layout);
    await checkHighlightFollows(page, layout);
    if (opts.find) await checkSearch(page, opts.find);
    await checkTimelineSeeks(page);
    await checkCopy(page);
    await checkNothingRan(page, []);
    if (opts.screenshot) await screenshot(page, opts.screenshot);
    check(errors.console.length === 0, `console errors: ${errors.console.join(" | ")}`);
    check(errors.page.length === 0, `page errors: ${errors.page.join(" | ")}`);
    check(errors.dialogs.length === 0, `dialogs opened: ${errors.dialogs.join(" | ")}`);
    check(requests.refused.length === 0, `requests beyond the page and its audio: ${requests.refused.join(" | ")}`);
    check(requests.allowed.includes(audio), `the audio ${audio} was never requested`);
  } finally {
    await browser.close();
  }
  if (failures.length) {
    for (const failure of failures) console.error(`check-page: FAIL ${failure}`);
    console.error(`check-page: ${opts.page}: ${failures.length} failed, ${passed} passed`);
    process.exit(1);
  }
  console.log(`check-page: ${opts.page}: ${passed} passed, 0 failed`);
}

main().catch((error) => {
  console.error(`check-page: ${error.stack || error}`);
  process.exit(1);
});
