/* Small helpers of the recording forms. The server decides: these only show, as staff type,
   what it will say (the live ODI/NDI score, a load that differs from the proposal, angles
   outside the range of motion). No inline handlers, no eval: the page's CSP forbids both. */
(function () {
  "use strict";

  /* --- Live ODI/NDI score: mirrors apps/assessments/scoring.py (odi_score, ndi_score) --- */

  // Round half up to one decimal, exactly: sum and n are integers, so work in tenths.
  function tenths(numerator, denominator) {
    return Math.floor((2 * numerator + denominator) / (2 * denominator));
  }

  // The rule carries each band's label (apps/assessments/bands.py), so it is shown as it comes.
  function band(value, rule) {
    for (const [limit, name] of rule.bands) {
      if (value <= limit) return name;
    }
    return rule.topBand;
  }

  function liveScore(rule, answers) {
    const answered = answers.filter((a) => a !== null);
    const n = answered.length;
    if (n < rule.minAnswered) {
      return { valid: false, text: `${n} of 10 sections answered: at least ${rule.minAnswered} are needed for a score.` };
    }
    const sum = answered.reduce((total, a) => total + a, 0);
    if (rule.instrument === "odi") {
      const percent = tenths(sum * 200, n) / 10; // Σ / (5n) × 100
      return { valid: true, text: `ODI ${percent.toFixed(1)} %: ${band(percent, rule)} (${n} of 10 sections)` };
    }
    const raw = tenths(sum * 100, n) / 10; // Σ × 10 / n
    return {
      valid: true,
      text: `NDI ${raw.toFixed(1)} / 50 (${(raw * 2).toFixed(1)} %): ${band(raw, rule)} (${n} of 10 sections)`,
    };
  }

  function setUpLiveScore(form) {
    const rule = JSON.parse(document.getElementById("score-rule").textContent);
    const output = document.getElementById("live-score");
    const update = () => {
      const answers = [];
      for (let number = 1; number <= 10; number += 1) {
        const checked = form.querySelector(`input[name="section_${number}"]:checked`);
        answers.push(checked && checked.value !== "" ? Number(checked.value) : null);
      }
      const score = liveScore(rule, answers);
      output.textContent = score.text;
      output.dataset.valid = String(score.valid);
    };
    form.addEventListener("change", update);
    update();
  }

  /* --- Session form: a load other than the proposal needs a reason --- */

  function setUpSessionForm(form) {
    const load = form.querySelector("#id_load");
    const override = document.getElementById("override");
    const reason = form.querySelector("#id_override_reason");
    const proposed = () => (document.getElementById("proposal") || { dataset: {} }).dataset.proposedLoad || "";
    const sync = () => {
      const p = proposed();
      const differs = p !== "" && load.value !== "" && Number(load.value) !== Number(p);
      override.dataset.state = differs ? "needed" : "";
      reason.required = differs;
    };
    load.addEventListener("input", sync);
    document.body.addEventListener("htmx:afterSwap", sync);
    const accept = form.querySelector("[data-accept-proposal]");
    if (accept) {
      accept.addEventListener("click", () => {
        if (proposed() !== "") load.value = Number(proposed());
        sync();
        load.focus();
      });
    }
    sync();
  }

  /* --- Strength test: grey out the angles outside the range of motion reached --- */

  function setUpStrengthTest(form) {
    const low = form.querySelector("#id_rom_min_deg");
    const high = form.querySelector("#id_rom_max_deg");
    const update = () => {
      form.querySelectorAll("input[data-angle]").forEach((input) => {
        const angle = Number(input.dataset.angle);
        const outside = low.value !== "" && high.value !== "" && (angle < Number(low.value) || angle > Number(high.value));
        input.closest(".field").classList.toggle("outside-rom", outside);
      });
    };
    low.addEventListener("input", update);
    high.addEventListener("input", update);
    update();
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("form[data-live-score]").forEach(setUpLiveScore);
    document.querySelectorAll("form[data-session-form]").forEach(setUpSessionForm);
    document.querySelectorAll("form[data-strength-test]").forEach(setUpStrengthTest);
  });

  window.SpineZoneForms = { liveScore: liveScore };
})();
