/* Checkout with Stripe's Payment Element: card details go from the browser to Stripe,
   never through the platform; Stripe's webhook tells the platform the order is paid. */
(function () {
  "use strict";
  var form = document.getElementById("stripe-form");
  if (!form || !window.Stripe) return;
  var stripe = window.Stripe(form.getAttribute("data-stripe-key"));
  var elements = stripe.elements({ clientSecret: form.getAttribute("data-client-secret") });
  elements.create("payment").mount("#payment-element");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = form.querySelector("button");
    button.disabled = true;
    stripe.confirmPayment({
      elements: elements,
      confirmParams: { return_url: location.origin + form.getAttribute("data-return-url") }
    }).then(function (result) {
      if (result.error) document.getElementById("stripe-error").textContent = result.error.message;
      button.disabled = false;
    });
  });
})();
