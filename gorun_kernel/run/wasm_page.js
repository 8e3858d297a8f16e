// A --wasm cell's program, run in the page that shows the cell's output (see run/wasm.py).
//
// This script sits inside the output's <div class="gorun-wasm">, after three
// <script type="text/plain"> holders: the gzip'd, base64 Go module, Go's own
// wasm_exec.js (gzip'd, base64), and a JSON object of settings. It runs the
// program in a Web Worker: a Go program on the page's main thread gives the
// browser control back only when all its goroutines block, so a loop that
// never blocks would freeze the page; in a worker it freezes nothing, and the
// stop button ends it (Worker.terminate).
//
// A worker has no DOM: the program's div is reached through messages. The
// worker posts {t: "html"} to set or append to the div and {t: "on"} to ask
// for events; the page posts {t: "event"} back. golib/page is the Go side.
(function (script) {
  "use strict";
  const box = script.parentNode;
  if (!box || box.dataset.started) return; // a renderer may run a script twice
  box.dataset.started = "1";
  const holder = (name) => box.querySelector(`script[data-gorun="${name}"]`).textContent.trim();
  const settings = JSON.parse(holder("settings"));
  const out = box.querySelector(".gorun-wasm-out");
  const page = box.querySelector(".gorun-wasm-page");
  const status = box.querySelector(".gorun-wasm-status");
  const OUTPUT_LIMIT = 1 << 20; // characters of text shown; the rest is counted
  let shown = 0;
  let dropped = 0;
  let clearPending = false; // a clear that waits for the next output
  page.id = "gorun-wasm-" + Math.random().toString(36).slice(2, 10);
  const started = performance.now();

  function say(text, running) {
    status.textContent = text;
    if (running) {
      const stop = document.createElement("button");
      stop.textContent = "stop";
      stop.className = "gorun-wasm-stop";
      stop.onclick = () => finish("stopped in this page (Web Worker terminated)");
      status.append(" ", stop);
    }
  }

  function firstOutput() {
    if (!box.dataset.firstOutputMs) {
      box.dataset.firstOutputMs = String(Math.round(performance.now() - started));
    }
    out.hidden = false;
    if (clearPending) {
      clearPending = false;
      out.replaceChildren();
    }
  }

  // Text goes into one <pre> per run of the same stream, in the order written.
  function write(text, stream) {
    if (shown + text.length > OUTPUT_LIMIT) {
      dropped += text.length - Math.max(OUTPUT_LIMIT - shown, 0);
      text = text.slice(0, Math.max(OUTPUT_LIMIT - shown, 0));
    }
    shown += text.length;
    if (!text) return;
    firstOutput();
    const last = out.lastChild;
    if (last && last.dataset.stream === stream) {
      last.lastChild.appendData(text);
    } else {
      const pre = document.createElement("pre");
      pre.dataset.stream = stream;
      pre.className = "gorun-wasm-" + stream;
      pre.append(document.createTextNode(text));
      out.append(pre);
    }
  }

  // A MIME bundle as the notebook would show it, from the richest form this page can draw.
  function render(target, data) {
    const image = ["image/png", "image/jpeg", "image/gif"].find((m) => m in data);
    if ("text/html" in data) target.innerHTML = data["text/html"];
    else if ("image/svg+xml" in data) target.innerHTML = data["image/svg+xml"];
    else if (image) {
      const img = document.createElement("img");
      img.src = `data:${image};base64,${data[image]}`;
      target.replaceChildren(img);
    } else {
      const pre = document.createElement("pre");
      const json = Object.keys(data).find((m) => /^application\/(.+\+)?json$/.test(m));
      pre.textContent = json ? JSON.stringify(data[json], null, 2) : String(data["text/plain"] ?? "");
      target.replaceChildren(pre);
    }
  }

  // A frame of the display package (golib/channel.go): a display, its update, a clear.
  function displayed(f) {
    if (f.type === "clear") {
      if (f.wait) clearPending = true;
      else out.replaceChildren();
      return;
    }
    if (f.type === "update") {
      for (const d of out.querySelectorAll(".gorun-wasm-display")) {
        if (d.dataset.displayId === f.id) render(d, f.data || {});
      }
      return;
    }
    firstOutput();
    const d = document.createElement("div");
    d.className = "gorun-wasm-display";
    if (f.id) d.dataset.displayId = f.id;
    render(d, f.data || {});
    out.append(d);
  }

  async function gunzip(name) {
    const text = atob(holder(name));
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Response(stream).arrayBuffer();
  }

  let worker = null;
  let watch = null;
  function finish(text) {
    if (worker) worker.terminate();
    worker = null;
    clearInterval(watch);
    if (dropped) write(`\n[${dropped} characters of output not shown]\n`, "stderr");
    say(text, false);
    box.dataset.done = "1";
  }

  // The worker's side: Go's wasm_exec.js runs first and defines globalThis.fs
  // (the file system the Go runtime writes through); this replaces its output
  // calls with messages to the page.
  function inWorker() {
    const decoders = { 1: new TextDecoder(), 2: new TextDecoder() };
    const fs = globalThis.fs;
    fs.writeSync = (fd, buf) => {
      if (fd === 1 || fd === 2) {
        const s = decoders[fd].decode(buf, { stream: true });
        postMessage({ t: fd === 1 ? "stdout" : "stderr", s });
      } else if (fd === DISPLAY_FD) writeFrames(buf);
      return buf.length;
    };
    const read = fs.read;
    fs.read = (fd, buffer, offset, length, position, callback) => {
      // stdin: a page has none to give; end of input, as a program with </dev/null gets.
      if (fd === 0) callback(null, 0);
      else if (fd === DISPLAY_FD) {
        buffer[offset] = 1; // a sync frame's acknowledgement: frames and text are in order
        callback(null, 1);
      } else read(fd, buffer, offset, length, position, callback);
    };
    // The display package's channel (golib/channel_js.go): a file at DISPLAY_PATH whose
    // writes are frames, "GRD" | flags | length (uint32, big-endian) | JSON.
    const DISPLAY_PATH = "/gorun/display";
    const DISPLAY_FD = 100;
    let frames = new Uint8Array(0);
    const open = fs.open;
    fs.open = (path, flags, mode, callback) => {
      if (path === DISPLAY_PATH) callback(null, DISPLAY_FD);
      else open(path, flags, mode, callback);
    };
    const writeFrames = (buf) => {
      const joined = new Uint8Array(frames.length + buf.length);
      joined.set(frames);
      joined.set(buf, frames.length);
      frames = joined;
      while (frames.length >= 8) {
        const size = new DataView(frames.buffer, frames.byteOffset).getUint32(4);
        if (frames.length < 8 + size) break;
        const body = new TextDecoder().decode(frames.subarray(8, 8 + size));
        postMessage({ t: "display", frame: JSON.parse(body) });
        frames = frames.slice(8 + size);
      }
    };
    const handlers = [];
    let exited = false;
    globalThis.gorunPage = {
      html(html, append, selector) {
        postMessage({ t: "html", html, append: !!append, selector: selector || "" });
      },
      value(json) {
        postMessage({ t: "value", s: json }); // a snippet's final value (golib/value)
      },
      on(selector, type, fn) {
        handlers.push(fn);
        postMessage({ t: "on", selector, type, n: handlers.length - 1 });
      },
    };
    onmessage = async (e) => {
      const m = e.data;
      if (m.t === "event") {
        if (!exited) handlers[m.n](m.event);
        return;
      }
      const go = new Go();
      go.argv = ["js", ...m.args];
      go.env = m.env;
      go.exit = (code) => {
        exited = true;
        postMessage({ t: "exit", code });
      };
      try {
        const { instance } = await WebAssembly.instantiate(m.module, go.importObject);
        await go.run(instance);
      } catch (err) {
        postMessage({ t: "crash", s: String(err) });
      }
    };
  }

  function listen(m) {
    page.addEventListener(m.type, (ev) => {
      const target = ev.target.closest ? ev.target.closest(m.selector) : null;
      if (!worker || !target || !page.contains(target)) return;
      const event = {
        type: ev.type,
        id: target.id || "",
        value: target.value === undefined ? "" : String(target.value),
        key: ev.key || "",
        x: ev.offsetX || 0,
        y: ev.offsetY || 0,
      };
      worker.postMessage({ t: "event", n: m.n, event });
    });
  }

  function received(m) {
    if (m.t === "stdout" || m.t === "stderr") write(m.s, m.t);
    else if (m.t === "html") {
      const targets = m.selector ? page.querySelectorAll(m.selector) : [page];
      for (const target of targets) {
        if (m.append) target.insertAdjacentHTML("beforeend", m.html);
        else target.innerHTML = m.html;
      }
    } else if (m.t === "on") listen(m);
    else if (m.t === "display") displayed(m.frame);
    else if (m.t === "value") {
      let data = null;
      try {
        data = JSON.parse(m.s).data;
      } catch (e) {
        // not the helper's JSON: shown as text
      }
      if (data && Object.keys(data).some((k) => k !== "text/plain")) {
        displayed({ type: "display", data });
      } else write((data ? data["text/plain"] : m.s) + "\n", "value");
    } else if (m.t === "exit") {
      const ms = Math.round(performance.now() - started);
      finish(`ran in this page (Web Worker, js/wasm): exit status ${m.code} \u00b7 ${ms} ms`);
      if (m.code !== 0) box.dataset.failed = "1";
    } else if (m.t === "crash") {
      write(m.s + "\n", "stderr");
      finish("failed in this page (Web Worker, js/wasm)");
      box.dataset.failed = "1";
    }
  }

  async function start() {
    say("starting in this page (Web Worker, js/wasm)\u2026", false);
    const [module, exec] = await Promise.all([gunzip("module"), gunzip("exec")]);
    const glue = new TextDecoder().decode(exec) + `\n;(${inWorker.toString()})();\n`;
    const url = URL.createObjectURL(new Blob([glue], { type: "text/javascript" }));
    worker = new Worker(url);
    URL.revokeObjectURL(url);
    worker.onmessage = (e) => received(e.data);
    worker.onerror = (e) => {
      write(String(e.message) + "\n", "stderr");
      finish("failed in this page (Web Worker, js/wasm)");
    };
    // The output was cleared (the cell ran again, the notebook closed): end the program.
    watch = setInterval(() => {
      if (!box.isConnected) finish("");
    }, 1000);
    const env = { ...settings.env, GORUN_WASM_DIV: page.id, GORUN_DISPLAY_PAGE: "/gorun/display" };
    worker.postMessage({ t: "start", module, env, args: settings.args }, [module]);
    say("running in this page (Web Worker, js/wasm)", true);
  }

  start().catch((err) => {
    write(String(err) + "\n", "stderr");
    finish("could not start in this page: " + String(err));
  });
})(document.currentScript);
