// Demo shop behaviour: a click on a product reports it with Segment's
// e-commerce "Product Clicked" event.
document.querySelectorAll('.product button').forEach((button) => {
  button.addEventListener('click', () => {
    const p = button.closest('.product').dataset;
    cairn.track('Product Clicked', {
      product_id: p.productId,
      sku: p.sku,
      name: p.name,
      price: Number(p.price),
      category: p.category,
      currency: 'EUR',
    });
  });
});

// The consent banner: it drives the SDK's consent API, and shows until the
// visitor has chosen (the SDK remembers the choice).
const banner = document.getElementById('consent-banner');
const boxes = [...banner.querySelectorAll('input[type=checkbox]')];
const choose = (prefs) => {
  cairn.consent.set(prefs);
  banner.hidden = true;
};
const all = (allowed) => ({ analytics: allowed, marketing: allowed, personalization: allowed });
document.getElementById('consent-accept').onclick = () => choose(all(true));
document.getElementById('consent-reject').onclick = () => choose(all(false));
document.getElementById('consent-choose').onclick = () => {
  document.getElementById('consent-choices').hidden = false;
  document.getElementById('consent-save').hidden = false;
};
document.getElementById('consent-save').onclick = () =>
  choose(Object.fromEntries(boxes.map((b) => [b.name, b.checked])));
document.getElementById('privacy-settings').onclick = () => {
  const current = cairn.consent.get().categoryPreferences;
  boxes.forEach((b) => (b.checked = !!current[b.name]));
  banner.hidden = false;
};
cairn.ready(() => {
  if (!cairn.consent.get().chosen) banner.hidden = false;
});
