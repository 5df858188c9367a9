// Send errors to keepwell with the official @sentry/node SDK: node send.mjs DSN RELEASE SCENARIO
// Prints the event ids it captured as JSON, after flushing them to the server.
import * as Sentry from "@sentry/node";

const [dsn, release, scenario] = process.argv.slice(2);
Sentry.init({
  dsn,
  release,
  environment: "production",
  defaultIntegrations: false,
  integrations: [Sentry.contextLinesIntegration()],
  tracesSampleRate: 0,
});

function loadCart(cartId, path) {
  const cart = { items: [] };
  if (path === "web") {
    return cart.owner.name; // the bug, reached from the web
  }
  return cart.owner.name; // the same bug, reached from a job
}

function captured(...args) {
  try {
    loadCart(...args);
  } catch (error) {
    return Sentry.captureException(error);
  }
}

const ids = [];
if (scenario === "errors") {
  ids.push(captured(1, "web"), captured(2, "job"), captured(3, "web"));
  ids.push(Sentry.captureMessage("Queue 17 is 9000 messages behind"));
  ids.push(Sentry.captureMessage("Queue 4 is 12 messages behind"));
  ids.push(Sentry.captureException(new RangeError("page size out of range")));
} else if (scenario === "one") {
  ids.push(captured(1, "web"));
}
await Sentry.flush(10000);
console.log(JSON.stringify(ids));
