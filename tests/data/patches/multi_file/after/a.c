int aa;
