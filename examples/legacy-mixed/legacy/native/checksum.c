/* A checksum over the raw bytes of a readings file (the native part). */

int checksum(const unsigned char *data, int len) {
    int sum = 0;
    int i;
    for (i = 0; i < len; i++) {
        sum = (sum * 31 + data[i]) % 65521;
    }
    return sum;
}
