"""The demo's error tracking: a DSN key per service and Sentry events processed by the errors app itself.

The events are the JSON the official SDKs send, wrapped in envelopes and handed to
`keepwell.errors.processing.process_body`, the same entry point the ingest jobs use, so groups, counts, tags,
hourly charts, releases and findings are what the app computes. Nothing is sent over the network.
"""

import json
import uuid
from datetime import timedelta

from django.db import transaction

DSN_LABEL = "Demo SDK (no events are sent to it)"
NAMESPACE = uuid.UUID("6f1c1bde-54d4-4f8e-9d0a-3c8f1f5b7a10")

PYTHON_SDK = {"name": "sentry.python.django", "version": "2.19.2"}
JS_SDK = {"name": "sentry.javascript.browser", "version": "8.42.0"}


def _frame(filename, function, lineno, context_line, module="", in_app=True, pre=(), post=(), variables=None):
    frame = {
        "filename": filename,
        "abs_path": f"/app/{filename}" if in_app else f"/usr/lib/python3.11/{filename}",
        "function": function,
        "module": module,
        "lineno": lineno,
        "in_app": in_app,
        "context_line": context_line,
        "pre_context": list(pre),
        "post_context": list(post),
    }
    if variables:
        frame["vars"] = variables
    return frame


CHECKOUT_FRAMES = [
    _frame(
        "django/core/handlers/base.py",
        "_get_response",
        197,
        "            response = wrapped_callback(request, *callback_args, **callback_kwargs)",
        "django.core.handlers.base",
        in_app=False,
    ),
    _frame(
        "shop/views/orders.py",
        "create_order",
        88,
        "    order = checkout(cart, customer=request.user)",
        "shop.views.orders",
        pre=["@require_POST", "def create_order(request):", "    cart = Cart.for_request(request)"],
        post=["    return JsonResponse(order.as_dict(), status=201)"],
    ),
    _frame(
        "shop/checkout.py",
        "checkout",
        41,
        '    total = cart["total"] + shipping_cost(cart)',
        "shop.checkout",
        pre=["def checkout(cart, customer):", "    # Gift cards come without a total until they are priced."],
        post=["    return Order.objects.create(customer=customer, total=total)"],
        variables={
            "cart": "{'items': [{'sku': 'GIFT-50', 'qty': 1}], 'currency': 'EUR'}",
            "customer": "<User 4411>",
        },
    ),
]

CURRENCY_FRAMES = [
    _frame(
        "shop/views/prices.py",
        "price_list",
        23,
        '    rates = currency.rates_for(request.GET.get("currency", "EUR"))',
        "shop.views.prices",
    ),
    _frame(
        "shop/currency.py",
        "rates_for",
        57,
        '        raise ValueError(f"Invalid currency code: {code!r}")',
        "shop.currency",
        pre=["def rates_for(code):", "    if code not in ISO_4217:"],
    ),
]

LOCK_FRAMES = [
    _frame(
        "shop/orders/tasks.py",
        "reserve_stock",
        112,
        "        item = Stock.objects.select_for_update(nowait=True).get(sku=sku)",
        "shop.orders.tasks",
    ),
    _frame(
        "django/db/backends/utils.py",
        "_execute",
        105,
        "                return self.cursor.execute(sql, params)",
        "django.db.backends.utils",
        in_app=False,
    ),
]

CHARGE_FRAMES = [
    _frame("billing/run.py", "charge_all", 64, "            charge_invoice(invoice)", "billing.run"),
    _frame(
        "billing/charges.py",
        "charge_invoice",
        131,
        "    intent = stripe.PaymentIntent.confirm(invoice.payment_intent_id)",
        "billing.charges",
    ),
    _frame(
        "stripe/_api_requestor.py",
        "_interpret_response",
        851,
        "            raise self.handle_error_response(rbody, rcode, resp.data, rheaders)",
        "stripe._api_requestor",
        in_app=False,
    ),
]


def _js_frames():
    return [
        {
            "filename": "https://shop.example.com/assets/vendor-5c1e.js",
            "function": "HTMLButtonElement.dispatch",
            "lineno": 2,
            "colno": 40312,
            "in_app": False,
        },
        {
            "filename": "https://shop.example.com/assets/cart-9a41.js",
            "function": "renderMiniCart",
            "lineno": 1,
            "colno": 8817,
            "in_app": True,
            "context_line": "const count = cart.items.length;",
        },
    ]


def _exception(type_, value, frames, module="", mechanism="django"):
    return {
        "exception": {
            "values": [
                {
                    "type": type_,
                    "value": value,
                    "module": module,
                    "mechanism": {"type": mechanism, "handled": False},
                    "stacktrace": {"frames": frames},
                }
            ]
        }
    }


def _message(text, params, logger):
    return {
        "logentry": {"message": text, "params": params, "formatted": text % tuple(params)},
        "logger": logger,
    }


# service, kind, release, environment, hours ago of each event, the event's own part
# kind: the name of the group in the demo ("resolve" and "ignore" name what a person did to it).
EVENTS = [
    (
        "shop-api",
        "checkout",
        "2.3.0",
        [270, 250, 229, 200, 180, 150],
        _exception("KeyError", "'total'", CHECKOUT_FRAMES, "builtins"),
    ),
    (
        "shop-api",
        "checkout",
        "2.3.1",
        [70, 52, 49, 30, 22, 9, 4, 1],
        _exception("KeyError", "'total'", CHECKOUT_FRAMES, "builtins"),
    ),
    (
        "shop-api",
        "currency",
        "2.3.0",
        [260, 240, 212],
        _exception("ValueError", "Invalid currency code: 'XBT'", CURRENCY_FRAMES, "builtins"),
    ),
    (
        "shop-api",
        "lock",
        "2.3.0",
        [280, 279, 278, 231],
        _exception(
            "OperationalError",
            'could not obtain lock on row in relation "shop_stock"',
            LOCK_FRAMES,
            "django.db.utils",
            mechanism="celery",
        ),
    ),
    (
        "shop-api",
        "slow-gift-cards",
        "2.3.1",
        [60, 40, 20],
        _message("Gift card balance lookup took %.1f s", [4.8], "shop.giftcards"),
    ),
    (
        "billing-worker",
        "card-declined",
        "1.8.4",
        [330, 306, 282, 258, 234, 210, 186, 162, 138, 114, 90, 66, 42, 18],
        _exception(
            "CardError", "Your card was declined.", CHARGE_FRAMES, "stripe._error", mechanism="logging"
        ),
    ),
    (
        "billing-worker",
        "invoice-run",
        "1.8.4",
        [306, 162, 18],
        _message("Invoice run finished with %d failed charges", [3], "billing.run"),
    ),
    (
        "storefront",
        "mini-cart",
        "2026.11.2",
        [100, 80, 75, 50, 26, 25, 3],
        _exception(
            "TypeError",
            "Cannot read properties of undefined (reading 'items')",
            _js_frames(),
            mechanism="onerror",
        ),
    ),
]

# After the first events: what a person did to the groups, and the events that came after.
LATER = [
    # The fix for the currency code went out in 2.3.1 ... and 2.4.0 brought it back: a regression.
    (
        "shop-api",
        "currency",
        "2.4.0",
        [1],
        _exception("ValueError", "Invalid currency code: 'XBT'", CURRENCY_FRAMES, "builtins"),
    ),
]
RESOLVE = [("shop-api", "currency"), ("shop-api", "lock")]
IGNORE = [("shop-api", "slow-gift-cards")]

# Release health: aggregated sessions as the SDKs report them (release, environment, [exited, errored, crashed]).
SESSIONS = [
    ("shop-api", "2.3.1", "production", [(48, 1870, 21, 2), (24, 1655, 12, 1), (2, 402, 5, 0)]),
    ("shop-api", "2.4.0", "staging", [(1, 38, 1, 1)]),
    ("storefront", "2026.11.2", "production", [(30, 5120, 44, 7), (6, 2210, 18, 3)]),
]


def _user(n: int) -> dict:
    return {"id": f"customer-{1000 + n * 37 % 211}", "ip_address": f"203.0.113.{n % 250 + 1}"}


def _payload(slug, kind, release, environment, when, n, part) -> tuple[str, dict]:
    event_id = uuid.uuid5(NAMESPACE, f"{slug}:{kind}:{release}:{n}").hex
    javascript = slug == "storefront"
    event = {
        "event_id": event_id,
        "timestamp": when.isoformat(),
        "platform": "javascript" if javascript else "python",
        "level": "warning" if "logentry" in part else "error",
        "release": release,
        "environment": environment,
        "server_name": "" if javascript else f"{slug}-{n % 3 + 1}",
        "user": _user(n),
        "tags": {"region": ("eu-west", "us-east")[n % 2]},
        "contexts": (
            {"browser": {"name": ("Firefox", "Chrome", "Safari")[n % 3], "version": "133.0"}}
            if javascript
            else {"runtime": {"name": "CPython", "version": "3.11.9"}}
        ),
        "breadcrumbs": {
            "values": [
                {
                    "timestamp": (when - timedelta(seconds=2)).isoformat(),
                    "category": "ui.click" if javascript else "query",
                    "message": "button#add-to-cart"
                    if javascript
                    else 'SELECT ... FROM "shop_cart" WHERE ...',
                }
            ]
        },
        "sdk": JS_SDK if javascript else PYTHON_SDK,
        **part,
    }
    if javascript:
        event["request"] = {"url": "https://shop.example.com/products/espresso-cups", "method": "GET"}
    elif slug == "shop-api":
        event["request"] = {"url": "https://api.example.com/v1/orders", "method": "POST"}
    return event_id, event


def envelope(event_id: str, items: list[tuple[str, dict]], sdk: dict) -> bytes:
    """Return a Sentry envelope holding `items` ((type, JSON payload)), as an SDK would send it."""
    lines = [json.dumps({"event_id": event_id, "sdk": sdk} if event_id else {"sdk": sdk})]
    for kind, payload in items:
        lines += [json.dumps({"type": kind}), json.dumps(payload)]
    return "\n".join(lines).encode()


def _send(service, slug, kind, release, hours, part, now, counter) -> list[str]:
    """Process one envelope per event through the errors app; return the event ids."""
    from keepwell.errors.processing import process_body

    ids = []
    environment = "staging" if release == "2.4.0" else "production"
    for hour in hours:
        counter[0] += 1
        when = now - timedelta(hours=hour, minutes=counter[0] * 7 % 50)
        event_id, event = _payload(slug, kind, release, environment, when, counter[0], part)
        body = envelope(event_id, [("event", event)], event["sdk"])
        process_body(service, body, received_at=when + timedelta(seconds=1), client_ip="203.0.113.10")
        ids.append(event_id)
    return ids


def seed(services: dict, now) -> int:
    """Give each service a DSN key and its errors; return how many events were processed (0 when seeded)."""
    from keepwell.errors.models import Dsn, ErrorEvent, ErrorGroup
    from keepwell.errors.processing import process_body
    from keepwell.errors.states import change_status

    done = 0
    for slug, service in services.items():
        if Dsn.objects.filter(service=service, label=DSN_LABEL).exists():
            continue
        with transaction.atomic():
            Dsn.issue(service, label=DSN_LABEL, rate_limit=0)
            counter = [0]
            groups = {}
            for s, kind, release, hours, part in EVENTS:
                if s != slug:
                    continue
                ids = _send(service, slug, kind, release, hours, part, now, counter)
                groups[kind] = ErrorEvent.objects.get(service=service, event_id=ids[0]).group_id
            for s, kind in RESOLVE:
                if s == slug and kind in groups:
                    change_status(ErrorGroup.objects.get(pk=groups[kind]), ErrorGroup.Status.RESOLVED)
            for s, kind in IGNORE:
                if s == slug and kind in groups:
                    change_status(ErrorGroup.objects.get(pk=groups[kind]), ErrorGroup.Status.IGNORED)
            for s, kind, release, hours, part in LATER:
                if s == slug:
                    _send(service, slug, kind, release, hours, part, now, counter)
            for s, release, environment, buckets in SESSIONS:
                if s != slug:
                    continue
                aggregates = [
                    {
                        "started": (now - timedelta(hours=hours))
                        .replace(second=0, microsecond=0)
                        .isoformat(),
                        "exited": exited,
                        "errored": errored,
                        "crashed": crashed,
                    }
                    for hours, exited, errored, crashed in buckets
                ]
                sdk = JS_SDK if slug == "storefront" else PYTHON_SDK
                body = envelope(
                    "",
                    [
                        (
                            "sessions",
                            {
                                "attrs": {"release": release, "environment": environment},
                                "aggregates": aggregates,
                            },
                        )
                    ],
                    sdk,
                )
                process_body(service, body, received_at=now)
            done += counter[0]
    return done
