def total(items):
    s = sum(x * 3 for x in items)
    return s
