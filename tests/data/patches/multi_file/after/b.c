int b;
int bbb;
