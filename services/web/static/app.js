// Progressive enhancement only: every page works without this file.
// The C-SSRS screener asks Q3-Q5 only when Q2 is yes (the server ignores them otherwise).
document.addEventListener("DOMContentLoaded", () => {
  const form = document.querySelector("form.assessment");
  if (!form) return;
  const branch = () => {
    const q2 = form.querySelector('input[name="cssrs_suicidal_thoughts"]:checked');
    const show = q2 !== null && q2.value === "yes";
    form.querySelectorAll("[data-after-q2]").forEach((fieldset) => {
      fieldset.hidden = !show;
      fieldset.querySelectorAll("input").forEach((input) => { input.disabled = !show; });
    });
  };
  form.addEventListener("change", branch);
  branch();
});

// The crisis banner checks for new alerts by itself; when that check cannot reach Casehub the
// page says so, rather than a banner that silently stops changing.
// A tab in the background shows in its title that a crisis alert is waiting.
const pageTitle = document.title;
const titleWithAlerts = () => {
  const waiting = document.querySelectorAll("#crisis-banner section.crisis-banner:not(.crisis-unknown) li").length;
  document.title = waiting ? `(${waiting}) Crisis alert${waiting > 1 ? "s" : ""} · ${pageTitle}` : pageTitle;
};
document.addEventListener("DOMContentLoaded", titleWithAlerts);
document.addEventListener("htmx:afterSettle", titleWithAlerts);

document.addEventListener("htmx:afterRequest", (event) => {
  const banner = event.detail.elt;
  if (!banner || banner.id !== "crisis-banner" || !banner.isConnected) return;
  const offline = banner.querySelector(".crisis-offline");
  if (offline) offline.hidden = event.detail.successful;
});

// A refused form: the error summary is read first, and each of its links puts the cursor in
// the field it is about (the link alone would only scroll there), its label in view.
document.addEventListener("DOMContentLoaded", () => {
  const summary = document.querySelector(".error-summary");
  if (!summary) return;
  summary.focus();
  summary.addEventListener("click", (event) => {
    const link = event.target.closest("a[href^='#']");
    if (!link) return;
    const target = document.getElementById(link.getAttribute("href").slice(1));
    if (!target) return;
    const field = target.matches("input, select, textarea") ? target : target.querySelector("input, select, textarea");
    if (!field) return;
    event.preventDefault();
    const label = document.querySelector(`label[for="${field.id}"]`) || target;
    label.scrollIntoView();
    field.focus({ preventScroll: true });
  });
});
