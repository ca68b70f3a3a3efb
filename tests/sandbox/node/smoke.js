// Smoke check of the official Node `stripe` package against the sandbox, run by
// tests/sandbox/test_node_client.py (which installs the package into .cache/). By hand, with a sandbox at URL:
//   npm install --prefix /tmp/stripe-node stripe@23.1.0 && NODE_PATH=/tmp/stripe-node/node_modules \
//     node tests/sandbox/node/smoke.js http://127.0.0.1:12111
const Stripe = require('stripe');

const url = new URL(process.argv[2]);
const stripe = new Stripe('sk_test_sandbox', {
  host: url.hostname, port: url.port, protocol: 'http', maxNetworkRetries: 2,
});

function check(condition, what) {
  if (!condition) throw new Error(`unexpected: ${what}`);
  console.log(`ok - ${what}`);
}

(async () => {
  const customer = await stripe.customers.create({email: 'node@example.com', source: 'tok_visa'});
  const charge = await stripe.charges.create(
    {amount: 1234, currency: 'usd', customer: customer.id, expand: ['balance_transaction']});
  check(charge.status === 'succeeded' && charge.balance_transaction.fee === 66, 'charge with fee');
  const intent = await stripe.paymentIntents.create({amount: 2000, currency: 'eur',
    payment_method: 'pm_card_visa', confirm: true, payment_method_types: ['card']});
  check(intent.status === 'succeeded', 'payment intent confirmed');
  try {
    await stripe.paymentIntents.create({amount: 2000, currency: 'usd',
      payment_method: 'pm_card_chargeDeclined', confirm: true, payment_method_types: ['card']});
    check(false, 'decline raised');
  } catch (error) {
    check(error.type === 'StripeCardError' && error.decline_code === 'generic_decline' &&
          error.raw.payment_intent.status === 'requires_payment_method', 'decline raised');
  }
  const refund = await stripe.refunds.create({charge: charge.id, amount: 200});
  check(refund.status === 'succeeded', 'partial refund');
  const ids = [];
  for await (const item of stripe.charges.list({limit: 1, created: {gte: 0}})) ids.push(item.id);
  check(ids.length === 3, 'auto-pagination with a created filter');
  const found = await stripe.charges.search({query: 'amount>1000'});
  check(found.object === 'search_result' && found.data.length === 3, 'search');
  const first = await stripe.charges.create(
    {amount: 999, currency: 'usd', source: 'tok_visa'}, {idempotencyKey: 'node-1'});
  const again = await stripe.charges.create(
    {amount: 999, currency: 'usd', source: 'tok_visa'}, {idempotencyKey: 'node-1'});
  check(first.id === again.id && again.lastResponse.headers['idempotent-replayed'] === 'true',
        'idempotent replay');
  try {
    await stripe.charges.create({amount: 5, currency: 'usd', source: 'tok_visa'});
    check(false, 'amount_too_small raised');
  } catch (error) {
    check(error.code === 'amount_too_small' && error.statusCode === 400, 'amount_too_small raised');
  }
})().catch((error) => { console.error(error); process.exit(1); });
