// Card payment on the participant's page: Stripe's Card Element and confirmCardPayment.
// The webhook stays the source of truth: after a payment the page says "confirming"
// and loads again until the server has heard from Stripe.
(function () {
  "use strict";

  var form = document.getElementById("card-payment");
  if (!form) return;
  // The words this script writes, in the page's language (base.html's #page-words).
  var words = {};
  try {
    words = JSON.parse(document.getElementById("page-words").textContent) || {};
  } catch (e) {
    words = {};
  }
  // Stripe's card field (its placeholders and its own error messages) speaks the page's language too.
  var locale = words.language || document.documentElement.lang || "auto";
  var errors = document.getElementById("card-errors");
  var status = document.getElementById("payment-status");
  if (typeof window.Stripe !== "function") {
    status.className = "notice notice--error";
    status.hidden = false;
    status.textContent = words.card_unavailable;
    return;
  }

  var stripe = window.Stripe(form.dataset.publishableKey, { locale: locale });
  var card = stripe.elements({ locale: locale }).create("card");
  card.mount("#card-element");
  form.hidden = false;

  var button = document.getElementById("pay-button");
  var busy = false;
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (busy) return;
    busy = true;
    button.disabled = true;
    errors.textContent = "";
    status.hidden = false;
    status.textContent = words.paying;
    stripe.confirmCardPayment(form.dataset.clientSecret, { payment_method: { card: card } }).then(function (result) {
      if (result.error) {
        status.hidden = true;
        errors.textContent = (result.error.message || words.card_refused) + " " + words.check_card;
        busy = false;
        button.disabled = false;
        return;
      }
      form.hidden = true;
      status.textContent = words.confirming;
      window.setTimeout(function () { window.location.reload(); }, 2000);
    });
  });
})();
