def total(items):
    s = sum(x*2 for x in items)
    return s
