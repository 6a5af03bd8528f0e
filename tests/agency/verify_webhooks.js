// An agency's receiver, in Node with the Standard Webhooks reference library (vendored from
// npm: tests/agency/vendor). Reads [{secret, headers, body_base64}] as JSON on stdin and
// prints, for each delivery, whether the library accepts it.
"use strict";
const { Webhook } = require("standardwebhooks");

let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const results = JSON.parse(input).map((delivery) => {
    const body = Buffer.from(delivery.body_base64, "base64").toString("utf8");
    try {
      const event = new Webhook(delivery.secret).verify(body, delivery.headers);
      return { ok: true, id: event.id, type: event.type };
    } catch (error) {
      return { ok: false, error: String(error.message || error) };
    }
  });
  process.stdout.write(JSON.stringify(results));
});
