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
