package fx;

/** synchronized methods and blocks. */
public class Sync {
    private int count;
    private static int scount;

    synchronized void inc() { count++; }

    static synchronized int sinc() { return ++scount; }

    int block(Object lock, int n) {
        synchronized (lock) {
            for (int i = 0; i < n; i++) {
                synchronized (this) {
                    count += i;
                }
            }
            if (n > 100) throw new IllegalStateException();
        }
        return count;
    }

    static String run() {
        Sync s = new Sync();
        for (int i = 0; i < 5; i++) s.inc();
        sinc();
        return s.block(new Object(), 6) + "/" + sinc();
    }
}
