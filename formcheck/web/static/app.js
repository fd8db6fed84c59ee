// formcheck serve: seek the video to a rep, follow an upload's progress, print. No inline script
// anywhere (the Content-Security-Policy allows only this file).
"use strict";

function seekTo(video, seconds) {
  // the page may be clicked before the video's metadata arrived: seek once it has
  const go = () => { video.currentTime = seconds; video.play().catch(() => {}); };
  if (video.readyState >= 1) go(); else video.addEventListener("loadedmetadata", go, { once: true });
}

function followUpload(box) {
  const bar = document.getElementById("upload-progress");
  const status = document.getElementById("upload-status");
  const result = document.getElementById("upload-result");
  const poll = async () => {
    let job;
    try {
      const r = await fetch(`/uploads/${box.dataset.job}/progress`, { credentials: "same-origin" });
      job = await r.json();
    } catch (e) {
      status.textContent = "lost contact with the server; retrying";
      setTimeout(poll, 2000);
      return;
    }
    if (job.fraction !== null) bar.value = job.fraction; else bar.removeAttribute("value");
    box.dataset.state = job.state;
    if (job.state === "done") {
      status.textContent = "done";
      result.innerHTML = "";
      const a = document.createElement("a");
      a.id = "session-link";
      a.href = `/sessions/${job.session_id}`;
      a.textContent = "Open the session";
      result.appendChild(a);
      result.hidden = false;
    } else if (job.state === "failed") {
      status.textContent = "failed: " + job.error;  // textContent: the message is shown as text
    } else {
      status.textContent = job.frames_total ? `${job.state}: frame ${job.frames_done} of ${job.frames_total}` : job.state;
      setTimeout(poll, 500);
    }
  };
  if (box.dataset.state !== "done" && box.dataset.state !== "failed") poll();
}

document.addEventListener("DOMContentLoaded", () => {
  const video = document.getElementById("video");
  for (const b of document.querySelectorAll("button.seek")) {
    if (!video) { b.disabled = true; continue; }
    b.addEventListener("click", () => {
      seekTo(video, parseFloat(b.dataset.start));
      for (const row of document.querySelectorAll("tr.rep-row")) row.classList.toggle("current", row.contains(b));
    });
  }
  const printButton = document.getElementById("print");
  if (printButton) printButton.addEventListener("click", () => window.print());
  const box = document.getElementById("upload-job");
  if (box) followUpload(box);
});
