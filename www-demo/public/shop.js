// Cairn Outdoor demo shop, shared by every page: the catalog, the cart, the
// demo sign-in, checkout, the order confirmation and the consent banner.
//
// The shop's own state (cart, signed-in email, last order) is site
// functionality and lives in sessionStorage only: no cookies, no localStorage.
// E-commerce events are never tracked from here: the Cairn SDK captures them
// from the data-cairn-* attributes rendered below (product, cart and order
// scopes, data-cairn-view and data-cairn-action). This file only calls
// cairn.identify/reset/ready, which the snippet's queue accepts before the SDK
// has loaded, and cairn.consent inside cairn.ready.
(() => {
  'use strict';

  const CURRENCY = 'EUR';
  const BRAND = 'Cairn Outdoor';
  const CART_KEY = 'shop.cart';
  const EMAIL_KEY = 'shop.email';
  const ORDER_KEY = 'shop.lastOrder';
  const MAX_QUANTITY = 99;

  // The catalog: the single source of truth for products.
  const PRODUCTS = [
    { id: 'trail-runner', sku: 'TR-001', name: 'Trail Runner', price: 89, category: 'Shoes', color: '#c96',
      description: 'A light, grippy shoe for fast days on rough ground.' },
    { id: 'summit-jacket', sku: 'SJ-210', name: 'Summit Jacket', price: 149.5, category: 'Jackets', color: '#369',
      description: 'A waterproof, breathable shell that packs into its own pocket.' },
    { id: 'ridge-pack', sku: 'RP-032', name: 'Ridge Pack 32L', price: 119, category: 'Packs', color: '#693',
      description: 'A 32-litre daypack with a ventilated back and hip-belt pockets.' },
    { id: 'alpine-tent', sku: 'AT-002', name: 'Alpine Tent 2P', price: 329, category: 'Tents', color: '#a63',
      description: 'Two people, freestanding, 1.9 kg, pitched in under five minutes.' },
    { id: 'merino-tee', sku: 'MT-150', name: 'Merino Tee', price: 54.9, category: 'Base layers', color: '#768',
      description: 'Merino wool at 150 g/m²: warm when wet and fresh for days.' },
    { id: 'trek-poles', sku: 'TP-120', name: 'Trek Poles', price: 64.95, category: 'Accessories', color: '#567',
      description: 'Folding carbon poles with cork grips, adjustable from 120 to 135 cm.' },
  ];
  const CATALOG = new Map(PRODUCTS.map((p) => [p.id, p]));

  // Small helpers.
  const $ = (id) => document.getElementById(id);
  const esc = (v) => String(v).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  const cents = (amount) => Math.round(amount * 100);
  const euros = new Intl.NumberFormat('en-IE', { style: 'currency', currency: CURRENCY });
  const money = (amountCents) => euros.format(amountCents / 100);
  const productUrl = (id) => `/product?id=${encodeURIComponent(id)}`;
  const randomHex = (bytes) =>
    [...crypto.getRandomValues(new Uint8Array(bytes))].map((b) => b.toString(16).padStart(2, '0')).join('');

  // FNV-1a, 32 bits, over the UTF-8 bytes; 8 lowercase hex digits.
  const fnv1a = (text) => {
    let hash = 0x811c9dc5;
    for (const byte of new TextEncoder().encode(text)) {
      hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
    }
    return hash.toString(16).padStart(8, '0');
  };
  const normalizeEmail = (email) => String(email || '').trim().toLowerCase();
  const userIdFor = (email) => 'u_' + fnv1a(normalizeEmail(email));

  // sessionStorage, JSON encoded; storage may be unavailable (then nothing is kept).
  const store = {
    get(key) {
      try {
        return JSON.parse(sessionStorage.getItem(key));
      } catch {
        return null;
      }
    },
    set(key, value) {
      try {
        sessionStorage.setItem(key, JSON.stringify(value));
      } catch {
        // storage unavailable: the state holds for this page only
      }
    },
    remove(key) {
      try {
        sessionStorage.removeItem(key);
      } catch {
        // nothing stored
      }
    },
  };

  // Quantities are whole numbers from 1 to MAX_QUANTITY.
  const clampQuantity = (value) => {
    const n = Number.parseInt(value, 10);
    return Number.isFinite(n) ? Math.min(MAX_QUANTITY, Math.max(1, n)) : 1;
  };

  // The cart: {id: 'cart_<hex>', items: [{product_id, quantity}]}.
  const readCart = () => {
    const cart = store.get(CART_KEY);
    if (!cart || typeof cart.id !== 'string' || !Array.isArray(cart.items)) return null;
    const items = cart.items
      .filter((item) => item && CATALOG.has(item.product_id))
      .map((item) => ({ product_id: item.product_id, quantity: clampQuantity(item.quantity) }));
    return { id: cart.id, items };
  };
  const writeCart = (cart) => store.set(CART_KEY, cart);
  const addToCart = (productId, quantity) => {
    const cart = readCart() || { id: 'cart_' + randomHex(8), items: [] };
    const line = cart.items.find((item) => item.product_id === productId);
    if (line) line.quantity = clampQuantity(line.quantity + quantity);
    else cart.items.push({ product_id: productId, quantity });
    writeCart(cart);
  };
  const removeFromCart = (productId) => {
    const cart = readCart();
    if (!cart) return;
    cart.items = cart.items.filter((item) => item.product_id !== productId);
    writeCart(cart);
  };
  // Items with their catalog product, and the total in cents.
  const linesOf = (items) =>
    (items || [])
      .filter((item) => item && CATALOG.has(item.product_id))
      .map((item) => ({ product: CATALOG.get(item.product_id), quantity: clampQuantity(item.quantity) }));
  const totalCents = (lines) => lines.reduce((sum, l) => sum + cents(l.product.price) * l.quantity, 0);

  // The product scope attributes the SDK reads (and nothing else data-cairn-*).
  const productAttrs = (p, quantity) =>
    [
      ['product', p.id],
      ['sku', p.sku],
      ['name', p.name],
      ['price', p.price],
      ['category', p.category],
      ['brand', BRAND],
      ['currency', CURRENCY],
      ['url', productUrl(p.id)],
      ...(quantity ? [['quantity', quantity]] : []),
    ]
      .map(([key, value]) => `data-cairn-${key}="${esc(value)}"`)
      .join(' ');
  const swatch = (p, size = '') =>
    `<div class="swatch${size ? ' ' + size : ''}" style="background:${esc(p.color)}" aria-hidden="true"></div>`;

  // Runs `fn` once the SDK has taken the calls made so far (so they survive the
  // navigation that follows), or after a moment if the SDK is not there.
  const whenSdkReady = (fn) => {
    let done = false;
    const once = () => {
      if (done) return;
      done = true;
      fn();
    };
    cairn.ready(once);
    setTimeout(once, 1500);
  };

  // Where to go back to after signing in: a path on this site only.
  const nextParam = () => {
    const next = new URLSearchParams(location.search).get('next') || '';
    const local = next.startsWith('/') && !next.startsWith('//') && !next.startsWith('/\\');
    return local && !next.startsWith('/login') ? next : '/';
  };

  // The demo sign-in: the email is the account.
  const signedInEmail = () => {
    const email = store.get(EMAIL_KEY);
    return typeof email === 'string' && email ? email : null;
  };
  const signIn = (email, traits) => {
    cairn.identify(userIdFor(email), traits);
    store.set(EMAIL_KEY, email);
    renderHeader();
  };
  const signOut = () => {
    cairn.reset();
    store.remove(EMAIL_KEY);
    renderHeader();
  };

  // Short messages for screen readers and everyone else.
  let statusTimer = 0;
  const announce = (message) => {
    const status = $('shop-status');
    if (!status) return;
    status.textContent = message;
    clearTimeout(statusTimer);
    statusTimer = setTimeout(() => (status.textContent = ''), 4000);
  };

  // The header: cart count and sign-in state.
  const renderHeader = () => {
    const count = (readCart()?.items || []).reduce((sum, item) => sum + item.quantity, 0);
    $('cart-link').textContent = `Cart (${count})`;
    const email = signedInEmail();
    const page = document.body.dataset.page;
    const here = page === 'login' ? nextParam() : page === 'order' ? '/' : location.pathname + location.search;
    $('account').innerHTML = email
      ? `<span id="user-email" class="who">${esc(email)}</span>
        <button type="button" id="logout" class="link">Sign out</button>`
      : `<a id="login-link" href="/login?next=${encodeURIComponent(here)}">Sign in</a>`;
  };

  // Pages.
  const renderHome = () => {
    $('products').innerHTML = PRODUCTS.map(
      (p) => `<li class="product" ${productAttrs(p)}>
        ${swatch(p)}
        <h2>${esc(p.name)}</h2>
        <p class="price">${money(cents(p.price))}</p>
        <div class="actions">
          <a class="view" href="${esc(productUrl(p.id))}" aria-label="View ${esc(p.name)}">View product</a>
          <button type="button" class="add" data-cairn-action="add-to-cart"
            aria-label="Add ${esc(p.name)} to cart">Add to cart</button>
        </div>
      </li>`
    ).join('');
  };

  const renderProduct = () => {
    const id = new URLSearchParams(location.search).get('id') || '';
    const p = CATALOG.get(id);
    if (!p) {
      document.title = 'Cairn Outdoor: product not found';
      $('product').innerHTML = `<h1>Product not found</h1>
        <p id="not-found">We have no product “${esc(id)}”. <a href="/">Back to the shop</a></p>`;
      return;
    }
    document.title = `Cairn Outdoor: ${p.name}`;
    $('product').innerHTML = `<article class="detail" ${productAttrs(p)} data-cairn-view="product">
        ${swatch(p, 'large')}
        <div>
          <p class="crumbs"><a href="/">Shop</a> / ${esc(p.category)}</p>
          <h1>${esc(p.name)}</h1>
          <p class="price">${money(cents(p.price))}</p>
          <p>${esc(p.description)}</p>
          <p class="muted">SKU ${esc(p.sku)}</p>
          <div class="buy">
            <label for="quantity">Quantity</label>
            <input id="quantity" name="quantity" type="number" min="1" max="${MAX_QUANTITY}" value="1"
              data-cairn-quantity>
            <button type="button" id="add-to-cart" data-cairn-action="add-to-cart">Add to cart</button>
          </div>
        </div>
      </article>`;
    // Keep the field clean, so the shop and the SDK read the same quantity.
    const field = $('quantity');
    field.addEventListener('change', () => (field.value = clampQuantity(field.value)));
  };

  const renderCart = () => {
    const cart = readCart();
    const lines = linesOf(cart?.items);
    if (!lines.length) {
      $('cart').innerHTML = `<p id="cart-empty">Your cart is empty. <a href="/">Continue shopping</a></p>`;
      return;
    }
    const total = totalCents(lines);
    $('cart').innerHTML = `<section class="cart" aria-label="Cart"
        data-cairn-cart="${esc(cart.id)}" data-cairn-view="cart"
        data-cairn-total="${total / 100}" data-cairn-currency="${CURRENCY}">
        <ul class="lines">${lines
          .map(
            ({ product: p, quantity }) => `<li class="line" ${productAttrs(p, quantity)}>
              ${swatch(p, 'small')}
              <div class="info"><a href="${esc(productUrl(p.id))}">${esc(p.name)}</a>
                <span class="muted">${quantity} × ${money(cents(p.price))}</span></div>
              <span class="amount">${money(cents(p.price) * quantity)}</span>
              <button type="button" class="remove link" data-cairn-action="remove-from-cart"
                aria-label="Remove ${esc(p.name)}">Remove</button>
            </li>`
          )
          .join('')}</ul>
        <p class="total">Total <strong id="cart-total">${money(total)}</strong></p>
        <a id="checkout" class="button" href="/checkout" data-cairn-action="checkout">Checkout</a>
      </section>`;
  };

  const renderLogin = () => {
    const email = signedInEmail();
    if (email) $('login-email').value = email;
    $('login-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const address = normalizeEmail($('login-email').value);
      if (!address) return;
      signIn(address, { email: address });
      $('login-submit').disabled = true;
      whenSdkReady(() => location.assign(nextParam()));
    });
  };

  const renderCheckout = () => {
    const lines = linesOf(readCart()?.items);
    $('checkout-empty').hidden = lines.length > 0;
    $('checkout-main').hidden = lines.length === 0;
    if (!lines.length) return;
    $('checkout-summary').innerHTML = lines
      .map(
        ({ product: p, quantity }) =>
          `<li class="line"><span class="info">${quantity} × ${esc(p.name)}</span>
            <span class="amount">${money(cents(p.price) * quantity)}</span></li>`
      )
      .join('');
    $('checkout-total').textContent = money(totalCents(lines));
    const email = signedInEmail();
    $('checkout-signin').hidden = !!email;
    if (email && !$('checkout-email').value) $('checkout-email').value = email;
  };

  const placeOrder = (event) => {
    event.preventDefault();
    const lines = linesOf(readCart()?.items);
    if (!lines.length) return renderCheckout();
    const email = normalizeEmail($('checkout-email').value);
    const name = $('checkout-name').value.trim();
    if (!signedInEmail()) signIn(email, { email, name });
    store.set(ORDER_KEY, {
      id: 'ord_' + randomHex(8),
      items: lines.map(({ product, quantity }) => ({ product_id: product.id, quantity })),
      total: totalCents(lines) / 100,
      currency: CURRENCY,
    });
    store.remove(CART_KEY);
    renderHeader();
    $('place-order').disabled = true;
    whenSdkReady(() => location.assign('/order'));
  };

  const renderOrder = () => {
    const order = store.get(ORDER_KEY);
    const lines = linesOf(order?.items);
    if (!order || typeof order.id !== 'string' || !lines.length) {
      $('order').innerHTML = `<h1>No recent order</h1>
        <p id="no-order">There is no order to show. <a href="/">Back to the shop</a></p>`;
      return;
    }
    const total = Number(order.total) || totalCents(lines) / 100;
    $('order').innerHTML = `<h1>Thank you for your order</h1>
      <section class="order" aria-label="Order" data-cairn-order="${esc(order.id)}" data-cairn-view="order"
        data-cairn-total="${total}" data-cairn-revenue="${total}" data-cairn-currency="${CURRENCY}">
        <p>Order <strong id="order-id">${esc(order.id)}</strong></p>
        <ul class="lines">${lines
          .map(
            ({ product: p, quantity }) => `<li class="line" ${productAttrs(p, quantity)}>
              ${swatch(p, 'small')}
              <div class="info">${esc(p.name)} <span class="muted">${quantity} × ${money(cents(p.price))}</span></div>
              <span class="amount">${money(cents(p.price) * quantity)}</span>
            </li>`
          )
          .join('')}</ul>
        <p class="total">Total <strong id="order-total">${money(cents(total))}</strong></p>
      </section>
      <p><a href="/">Continue shopping</a></p>`;
    // Shown once: a reload does not report the order again.
    store.remove(ORDER_KEY);
  };

  const pages = {
    home: renderHome,
    product: renderProduct,
    cart: renderCart,
    login: renderLogin,
    checkout: renderCheckout,
    order: renderOrder,
  };
  renderHeader();
  pages[document.body.dataset.page]?.();
  $('checkout-form')?.addEventListener('submit', placeOrder);

  // Back/forward cache: the cart may have changed on another page.
  addEventListener('pageshow', (event) => {
    if (!event.persisted) return;
    renderHeader();
    if (document.body.dataset.page === 'cart') renderCart();
    if (document.body.dataset.page === 'checkout') renderCheckout();
  });

  // Shop actions. The SDK captures these clicks from the attributes itself, so
  // the page is changed only after this click has been handled everywhere.
  document.addEventListener('click', (event) => {
    if (event.target.closest('#logout')) return signOut();
    const button = event.target.closest('[data-cairn-action]');
    const scope = button?.closest('[data-cairn-product]');
    if (!scope) return; // checkout is a plain link
    const productId = scope.dataset.cairnProduct;
    const name = scope.dataset.cairnName;
    if (button.dataset.cairnAction === 'add-to-cart') {
      const input = scope.querySelector('input[data-cairn-quantity]');
      const quantity = input ? clampQuantity(input.value) : 1;
      addToCart(productId, quantity);
      renderHeader();
      announce(`Added ${quantity} × ${name} to your cart.`);
    } else if (button.dataset.cairnAction === 'remove-from-cart') {
      removeFromCart(productId);
      setTimeout(() => {
        renderHeader();
        renderCart();
        announce(`Removed ${name} from your cart.`);
        $('cart-heading')?.focus();
      });
    }
  });

  // The consent banner: it drives the SDK's consent API, and shows until the
  // visitor has chosen (the SDK remembers the choice).
  const banner = $('consent-banner');
  const boxes = [...banner.querySelectorAll('input[type=checkbox]')];
  const choose = (prefs) => {
    cairn.consent.set(prefs);
    banner.hidden = true;
  };
  const all = (allowed) => ({ analytics: allowed, marketing: allowed, personalization: allowed });
  $('consent-accept').onclick = () => choose(all(true));
  $('consent-reject').onclick = () => choose(all(false));
  $('consent-choose').onclick = () => {
    $('consent-choices').hidden = false;
    $('consent-save').hidden = false;
  };
  $('consent-save').onclick = () => choose(Object.fromEntries(boxes.map((b) => [b.name, b.checked])));
  $('privacy-settings').onclick = () =>
    cairn.ready(() => {
      const current = cairn.consent.get().categoryPreferences;
      boxes.forEach((b) => (b.checked = !!current[b.name]));
      banner.hidden = false;
    });
  cairn.ready(() => {
    if (!cairn.consent.get().chosen) banner.hidden = false;
  });
})();
