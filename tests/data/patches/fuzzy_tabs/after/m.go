func f() {
	if x {
        panic("x")
	}
}
