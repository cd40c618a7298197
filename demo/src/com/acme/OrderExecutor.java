package com.acme;

import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** The orders worker pool: threads orders-1..orders-4, a bounded queue of 50, AbortPolicy. */
public class OrderExecutor extends ThreadPoolExecutor {
    public static final int WORKERS = 4;
    public static final int QUEUE_CAPACITY = 50;

    public OrderExecutor() {
        super(WORKERS, WORKERS, 0L, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(QUEUE_CAPACITY),
                new NamedThreads("orders-"), new ThreadPoolExecutor.AbortPolicy());
        prestartAllCoreThreads(); // orders-1..orders-4 exist from the start
    }

    /** Names threads prefix1, prefix2, ... */
    static final class NamedThreads implements ThreadFactory {
        private final String prefix;
        private final AtomicInteger next = new AtomicInteger();

        NamedThreads(String prefix) {
            this.prefix = prefix;
        }

        @Override
        public Thread newThread(Runnable r) {
            return new Thread(r, prefix + next.incrementAndGet());
        }
    }
}
