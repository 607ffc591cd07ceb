int b;
int bb;
