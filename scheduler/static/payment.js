// Card payment on the participant's page: Stripe's Card Element and confirmCardPayment.
// The webhook stays the source of truth: after a payment the page says "confirming"
// and loads again until the server has heard from Stripe.
(function () {
  "use strict";

  var form = document.getElementById("card-payment");
  if (!form) return;
  var errors = document.getElementById("card-errors");
  var status = document.getElementById("payment-status");
  if (typeof window.Stripe !== "function") {
    status.className = "notice notice--error";
    status.hidden = false;
    status.textContent = "Card payment could not be loaded. Please reload this page in a minute.";
    return;
  }

  var stripe = window.Stripe(form.dataset.publishableKey);
  var card = stripe.elements().create("card");
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
    status.textContent = "Paying…";
    stripe.confirmCardPayment(form.dataset.clientSecret, { payment_method: { card: card } }).then(function (result) {
      if (result.error) {
        status.hidden = true;
        errors.textContent = (result.error.message || "The payment did not go through.") +
          " Please check the card details and try again.";
        busy = false;
        button.disabled = false;
        return;
      }
      form.hidden = true;
      status.textContent = "Payment received, confirming…";
      window.setTimeout(function () { window.location.reload(); }, 2000);
    });
  });
})();
