"""A tiny inventory module used by Hindsight's demo (`npm start`)."""


def parse_line(line):
    """Parse 'name,quantity,price' into a dict."""
    name, quantity, price = line.strip().split(",")
    return {"name": name, "quantity": int(quantity), "price": float(price)}


def total_value(lines):
    """Sum quantity * price over CSV lines, skipping blank ones."""
    return sum(item["quantity"] * item["price"] for item in map(parse_line, filter(str.strip, lines)))
