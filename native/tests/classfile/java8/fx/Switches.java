package fx;

/** tableswitch / lookupswitch at every alignment, string and enum switches. */
public class Switches {
    static int t0(int k) {
        switch (k) { case 1: return 10; case 2: return 20; case 3: return 30; case 4: return 40; default: return -1; }
    }
    static int t1(int k) {
        k = -k;
        switch (k) { case -1: return 10; case -2: return 20; case -3: return 30; default: return -1; }
    }
    static int t2(int k) {
        k += 1000;
        switch (k) { case 1001: return 10; case 1002: return 20; case 1003: return 30; default: return -1; }
    }
    static int t3(int k) {
        k++;
        switch (k) { case 2: return 10; case 3: return 20; case 4: return 30; default: return -1; }
    }
    static int t4(long big, int k) {
        int j = (int) big + k;
        switch (j) { case 5: return 1; case 6: return 2; case 7: return 3; case 8: return 4; default: return 0; }
    }
    int t5(int k) {
        switch (k) { case 0: return 1; case 1: return 2; case 2: return 4; default: return 8; }
    }
    static int l0(int k) {
        switch (k) { case 1: return 1; case 1000: return 2; case 100000: return 3; default: return 0; }
    }
    static int l1(int k) {
        k = -k;
        switch (k) { case -1: return 1; case -1000: return 2; case -100000: return 3; default: return 0; }
    }
    static int l2(int k) {
        k += 1000;
        switch (k) { case 1001: return 1; case 2000: return 2; case 101000: return 3; default: return 0; }
    }
    static int l3(int k) {
        k++;
        switch (k) { case 2: return 1; case 1001: return 2; case 100001: return 3; default: return 0; }
    }
    int l4(int k) {
        switch (k) { case 10: return 1; case 10000: return 2; default: return 0; }
    }
    static String str(String s) {
        switch (s) {
            case "alpha": return "A";
            case "beta": return "B";
            case "Aa": return "collision1";
            case "BB": return "collision2";
            default: return "?";
        }
    }
    static String color(Color c) {
        switch (c) {
            case RED: return "r";
            case GREEN: return "g";
            default: return "other";
        }
    }
    static int fallthrough(int k) {
        int r = 0;
        switch (k) {
            case 1: r += 1;
            case 2: r += 2;
            case 3: r += 3; break;
            default: r = -1;
        }
        return r;
    }

    static String run() {
        StringBuilder sb = new StringBuilder();
        for (int k = -4; k <= 12; k++) {
            sb.append(t0(k)).append(t1(k)).append(t2(k)).append(t3(k)).append(t4(2L, k))
              .append(new Switches().t5(k)).append(l0(k)).append(l1(k)).append(l2(k)).append(l3(k))
              .append(new Switches().l4(k * 1000)).append(fallthrough(k)).append(',');
        }
        sb.append(l0(1000)).append(l0(100000)).append(l1(1000)).append(l2(1000)).append(l3(100000));
        for (String s : new String[] {"alpha", "beta", "Aa", "BB", "gamma"}) sb.append(str(s));
        for (Color c : Color.values()) sb.append(color(c));
        return sb.toString();
    }
}
