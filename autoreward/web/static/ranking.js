// The ranking control: order the clips best first (drag, or the up/down buttons) and POST the order as JSON.
"use strict";

function setupRanking(form) {
  const list = form.querySelector("ol");
  const message = form.querySelector("[role=status]");
  let dragged = null;

  list.addEventListener("click", (event) => {
    const item = event.target.closest("li");
    if (!item) return;
    if (event.target.classList.contains("up") && item.previousElementSibling) {
      list.insertBefore(item, item.previousElementSibling);
    } else if (event.target.classList.contains("down") && item.nextElementSibling) {
      list.insertBefore(item.nextElementSibling, item);
    }
  });
  list.addEventListener("dragstart", (event) => {
    dragged = event.target.closest("li");
    dragged.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
  });
  list.addEventListener("drop", (event) => event.preventDefault()); // the order already moved on dragover
  list.addEventListener("dragend", () => { if (dragged) dragged.classList.remove("dragging"); dragged = null; });
  list.addEventListener("dragover", (event) => {
    event.preventDefault();
    const over = event.target.closest("li");
    if (!dragged || !over || over === dragged) return;
    const box = over.getBoundingClientRect();
    list.insertBefore(dragged, event.clientY > box.top + box.height / 2 ? over.nextSibling : over);
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const ranking = Array.from(list.querySelectorAll("li")).map((li) => li.dataset.candidate);
    message.className = "";
    message.textContent = "storing…";
    try {
      const response = await fetch(form.dataset.endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ iteration: Number(form.dataset.iteration), ranking }),
      });
      const body = await response.json();
      if (!response.ok) throw new Error(typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail));
      message.className = "ok";
      message.textContent = `stored for iteration ${body.iteration + 1}: ${body.next_step}`;
    } catch (err) {
      message.className = "bad";
      message.textContent = `not stored: ${err.message}`;
    }
  });
}

document.querySelectorAll("form[data-ranking]").forEach(setupRanking);

const playAll = document.getElementById("play-all");
if (playAll) {
  playAll.addEventListener("click", () => {
    document.querySelectorAll("#ranking video").forEach((video) => { video.currentTime = 0; video.play(); });
  });
}
