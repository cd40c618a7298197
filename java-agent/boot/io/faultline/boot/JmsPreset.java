package io.faultline.boot;

import java.lang.ref.WeakReference;
import java.lang.reflect.Method;

/**
 * The {@code jms} preset: sending and receiving JMS messages (javax.jms, any provider),
 * matched on the destination's name ({@code destination}, a glob on the queue or topic name)
 * and the side ({@code producer}: sending; {@code consumer}: receiving and delivery to a
 * listener; both when unset).
 *
 * <p>Where it acts, and why there:
 * <ul>
 * <li>Producer side: every {@code send} of a {@code MessageProducer} (those of
 * {@code QueueSender} included) and {@code publish} of a {@code TopicPublisher}, at entry,
 * before the provider does anything: an exception means the message was not sent (the broker
 * never gets it), a latency holds the sender. The destination is the one the call names
 * ({@code send(Destination, ...)}), else the producer's own ({@code getDestination()}). A
 * send a provider or a wrapper (a caching or pooling factory) makes inside another is the
 * same send: ActiveMQ's {@code send(Message)} leads through two more {@code send}s, a
 * {@code publish} to a {@code send}; only the outermost is offered.</li>
 * <li>Consumer side, synchronous: {@code receive()}, {@code receive(long)} and
 * {@code receiveNoWait()} of every {@code MessageConsumer}, at entry: an exception fails the
 * receive before any message is taken (the next receive gets it), a latency holds the caller
 * before it receives. The JMS API gives a consumer no destination, so the preset records the
 * one each consumer is created for ({@code Session.createConsumer},
 * {@code createDurableSubscriber}, {@code QueueSession.createReceiver},
 * {@code TopicSession.createSubscriber}); for a consumer created before the fault was armed it
 * asks {@code QueueReceiver.getQueue} or {@code TopicSubscriber.getTopic}, else the
 * provider's own consumer class for a {@code getDestination()} (ActiveMQ has one).</li>
 * <li>Consumer side, asynchronous: {@code MessageListener.onMessage} of the application's
 * listeners: the destination is the message's ({@code getJMSDestination()}). An exception
 * is the delivery failing as a listener that throws fails it, so it is a RuntimeException
 * (a listener can throw no other; a checked class, {@code jms} included, travels as its
 * cause): the provider's redelivery rules then apply (ActiveMQ, with AUTO_ACKNOWLEDGE,
 * redelivers the message after its redelivery delay, up to its maximum redeliveries, then
 * sends it to the dead letter queue). A latency holds the delivery (and, as a slow listener
 * does, the deliveries after it on the same session).</li>
 * </ul>
 *
 * <p>Timeouts. A latency longer than ActiveMQ's send timeout ({@code sendTimeout} of the
 * connection or producer) ends at it with the {@code JMSException} ActiveMQ raises then
 * (named after, and caused by, its {@code RequestTimedOutIOException}), the message not sent.
 * A latency longer than {@code receive(timeout)}'s timeout ends as that receive does when no
 * message comes in time: it returns null at the timeout, no message taken (the next receive
 * gets it). A latency shorter than the timeout delays the receive, which then waits its whole
 * timeout if no message is there.
 *
 * <p>Limits. A listener that is a lambda or a method reference is a hidden class, which the
 * JVM lets no agent rewrite: its deliveries are not seen (a listener class, named, nested or
 * anonymous, is). A listener's {@code onMessage} is the application's own work, so the sends
 * and receives it makes are offered to the fault as calls of their own.
 *
 * <p>Events name the side's call and the destination: {@code send queue://orders.created},
 * {@code receive topic://prices}, {@code receiveNoWait queue://orders.created},
 * {@code onMessage queue://orders.created}.
 */
final class JmsPreset extends Preset {
    private static final int SEND_OWN = 1;
    private static final int SEND_TO = 2;
    private static final int RECEIVE = 3;
    private static final int RECEIVE_TIMED = 4;
    private static final int RECEIVE_NO_WAIT = 5;
    private static final int ON_MESSAGE = 6;
    /** Observer: a session creating a consumer for a destination. */
    private static final int CREATE_CONSUMER = 7;

    private static final String PRODUCER = "javax.jms.MessageProducer";
    private static final String CONSUMER = "javax.jms.MessageConsumer";
    private static final String LISTENER = "javax.jms.MessageListener";
    private static final String MESSAGE = "javax.jms.Message";
    private static final String QUEUE = "javax.jms.Queue";
    private static final String TOPIC = "javax.jms.Topic";
    private static final String JMS_EXCEPTION = "javax.jms.JMSException";
    private static final String ACTIVEMQ_PRODUCER = "org.apache.activemq.ActiveMQMessageProducerSupport";
    private static final String ACTIVEMQ_TIMED_OUT = "org.apache.activemq.transport.RequestTimedOutIOException";

    /** What a consumer's destination is when no way of reading it worked. */
    private static final Named UNKNOWN = new Named(null, "(unknown destination)");
    /** Pushed for a consumer created for no destination the preset can read. */
    private static final Object NO_DESTINATION = new Object();

    private final String destination;
    private final boolean producerSide;
    private final boolean consumerSide;

    /** Each consumer's destination, recorded as it was created (or read once later). */
    private final WeakIdentity<Named> consumers = new WeakIdentity<>();
    /** Each destination object's name, read once. */
    private final WeakIdentity<Named> destinations = new WeakIdentity<>();
    /** The message of this thread's last listener call offered to the fault. */
    private final ThreadLocal<WeakReference<Object>> delivering = new ThreadLocal<>();

    /** A destination as keys match it (its name) and events show it ({@code queue://name}). */
    private static final class Named {
        final String name;
        final String shown;

        Named(String name, String shown) {
            this.name = name;
            this.shown = shown;
        }
    }

    JmsPreset(Keys keys, int status, String throwName) {
        super("jms", status, throwName);
        this.destination = keys.get("destination");
        String side = keys.get("side");
        this.producerSide = side == null || side.equals("producer");
        this.consumerSide = side == null || side.equals("consumer");
    }

    // ------------------------------------------------------------------ the hooked methods

    @Override
    int roleOf(String method, String descriptor) {
        switch (method) {
            case "send":
            case "publish":
                if (!producerSide) {
                    return NONE;
                }
                if (destinationFirst(descriptor)) {
                    return SEND_TO;
                }
                return descriptor.startsWith("(Ljavax/jms/Message;") ? SEND_OWN : NONE;
            case "receive":
                if (!consumerSide) {
                    return NONE;
                }
                if (descriptor.equals("()Ljavax/jms/Message;")) {
                    return RECEIVE;
                }
                return descriptor.equals("(J)Ljavax/jms/Message;") ? RECEIVE_TIMED : NONE;
            case "receiveNoWait":
                return consumerSide && descriptor.equals("()Ljavax/jms/Message;") ? RECEIVE_NO_WAIT : NONE;
            case "onMessage":
                return consumerSide && descriptor.equals("(Ljavax/jms/Message;)V") ? ON_MESSAGE : NONE;
            case "createConsumer":
            case "createDurableSubscriber":
            case "createReceiver":
            case "createSubscriber":
                return consumerSide && destinationFirst(descriptor) ? CREATE_CONSUMER : NONE;
            default:
                return NONE;
        }
    }

    /** The method's first parameter is a destination (Destination, Queue, Topic). */
    private static boolean destinationFirst(String descriptor) {
        return descriptor.startsWith("(Ljavax/jms/Destination;") || descriptor.startsWith("(Ljavax/jms/Queue;")
                || descriptor.startsWith("(Ljavax/jms/Topic;");
    }

    @Override
    boolean acts(int role) {
        return role != CREATE_CONSUMER;
    }

    /**
     * A listener's {@code onMessage} is the application's own work: the messages it sends and
     * the receives it makes are calls of their own (a listener wrapping another passes the
     * same delivery on, which {@link #match} tells by the message).
     */
    @Override
    boolean nests(int role) {
        return role != ON_MESSAGE;
    }

    @Override
    void observeEntry(int role, Call call, Depth depth) {
        if (role != CREATE_CONSUMER) {
            return;
        }
        Named named = null;
        try {
            named = named(call.arg(0));
        } catch (Exception e) {
            // Unreadable: the consumer's destination is read later, if it can be.
        }
        depth.pending.push(named != null ? named : NO_DESTINATION);
    }

    @Override
    void observeExit(int role, Object result, Depth depth) {
        if (role != CREATE_CONSUMER) {
            return;
        }
        Object given = depth.pending.poll();
        if (result != null && given instanceof Named) {
            consumers.put(result, (Named) given);
        }
    }

    @Override
    void observeThrown(int role, Depth depth) {
        if (role == CREATE_CONSUMER) {
            depth.pending.poll();
        }
    }

    // ------------------------------------------------------------------ reading the call

    @Override
    String match(int role, Call call) throws Exception {
        Named target;
        String verb;
        switch (role) {
            case SEND_OWN:
                target = named(invoke(call.self, PRODUCER, "getDestination"));
                verb = "send";
                break;
            case SEND_TO: {
                Object given = call.arg(0);
                target = named(given != null ? given : invoke(call.self, PRODUCER, "getDestination"));
                verb = "send";
                break;
            }
            case RECEIVE:
            case RECEIVE_TIMED:
                target = consumerDestination(call.self);
                verb = "receive";
                break;
            case RECEIVE_NO_WAIT:
                target = consumerDestination(call.self);
                verb = "receiveNoWait";
                break;
            case ON_MESSAGE: {
                Object message = call.arg(0);
                WeakReference<Object> last = delivering.get();
                if (message != null && last != null && last.get() == message) {
                    return null; // the same delivery, passed on by a listener wrapping another
                }
                delivering.set(new WeakReference<>(message));
                target = message == null ? null : named(invoke(message, MESSAGE, "getJMSDestination"));
                verb = "onMessage";
                break;
            }
            default:
                return null;
        }
        if (target == null) {
            target = UNKNOWN;
        }
        if (destination != null && (target.name == null || !glob(destination, target.name))) {
            return null;
        }
        return verb + " " + target.shown;
    }

    /** A destination's name and how events show it; null for null or a destination of no known kind. */
    private Named named(Object dest) throws Exception {
        if (dest == null) {
            return null;
        }
        Named known = destinations.get(dest);
        if (known != null) {
            return known;
        }
        Class<?> type = dest.getClass();
        String name;
        String scheme;
        if (supertype(type, QUEUE) != null) {
            name = (String) invoke(dest, QUEUE, "getQueueName");
            scheme = supertype(type, "javax.jms.TemporaryQueue") != null ? "temp-queue://" : "queue://";
        } else if (supertype(type, TOPIC) != null) {
            name = (String) invoke(dest, TOPIC, "getTopicName");
            scheme = supertype(type, "javax.jms.TemporaryTopic") != null ? "temp-topic://" : "topic://";
        } else {
            return null;
        }
        Named read = new Named(name, scheme + name);
        destinations.put(dest, read);
        return read;
    }

    /**
     * The destination a consumer receives from: recorded when it was created, else read from
     * the consumer (QueueReceiver, TopicSubscriber, or the provider's own getDestination), once.
     */
    private Named consumerDestination(Object consumer) {
        Named known = consumers.get(consumer);
        if (known != null) {
            return known;
        }
        Named read = null;
        try {
            Class<?> type = consumer.getClass();
            if (supertype(type, "javax.jms.QueueReceiver") != null) {
                read = named(invoke(consumer, "javax.jms.QueueReceiver", "getQueue"));
            } else if (supertype(type, "javax.jms.TopicSubscriber") != null) {
                read = named(invoke(consumer, "javax.jms.TopicSubscriber", "getTopic"));
            }
            if (read == null) {
                read = named(providerDestination(consumer));
            }
        } catch (Exception e) {
            // Not readable: the consumer's destination stays unknown.
        }
        consumers.put(consumer, read != null ? read : UNKNOWN);
        return read != null ? read : UNKNOWN;
    }

    /**
     * A consumer's destination through its provider's own {@code getDestination()}, public or
     * not (ActiveMQ's is protected), found in the consumer's class or a superclass; null if none.
     */
    private static Object providerDestination(Object consumer) throws Exception {
        for (Class<?> c = consumer.getClass(); c != null && c != Object.class; c = c.getSuperclass()) {
            Method m;
            try {
                m = c.getDeclaredMethod("getDestination");
            } catch (NoSuchMethodException e) {
                continue;
            }
            m.setAccessible(true);
            return m.invoke(consumer);
        }
        return null;
    }

    // ------------------------------------------------------------------ acting

    @Override
    Throwable exception(int role, Call call, String matched, Fault.Thrower own) throws Exception {
        String where = matched.substring(matched.indexOf(' ') + 1);
        String realistic;
        switch (role) {
            case SEND_OWN:
            case SEND_TO:
                realistic = "Could not send the message to " + where;
                break;
            case ON_MESSAGE:
                realistic = "The listener failed to process a message from " + where;
                break;
            default:
                realistic = "Could not receive a message from " + where;
        }
        Throwable t = own.type() != null ? own.build(realistic)
                : jmsException(call.self, apiOf(role), own.text(realistic));
        if (role == ON_MESSAGE && !(t instanceof RuntimeException) && !(t instanceof Error)) {
            // onMessage declares no checked exception: a listener that fails throws a
            // RuntimeException, which is what the provider's redelivery rules act on.
            return new RuntimeException(t.toString(), t);
        }
        return t;
    }

    /** The JMS interface the object a role hooks implements: its class loader has the application's JMS API. */
    private static String apiOf(int role) {
        switch (role) {
            case SEND_OWN:
            case SEND_TO:
                return PRODUCER;
            case ON_MESSAGE:
                return LISTENER;
            default:
                return CONSUMER;
        }
    }

    /** A {@code javax.jms.JMSException} of the application's JMS API ({@code api}'s, as {@code at} implements it). */
    private static Throwable jmsException(Object at, String api, String text) throws Exception {
        Class<?> type = Class.forName(JMS_EXCEPTION, false, jmsLoader(at, api));
        return (Throwable) type.getConstructor(String.class).newInstance(text);
    }

    private static ClassLoader jmsLoader(Object at, String api) {
        Class<?> declaring = supertype(at.getClass(), api);
        return declaring != null ? declaring.getClassLoader() : at.getClass().getClassLoader();
    }

    /**
     * The caller's own deadline: {@code receive(timeout)}'s timeout; for a send, ActiveMQ's
     * send timeout (a send with one waits for the broker's answer that long at most).
     */
    @Override
    long timeoutNanos(int role, Call call) throws Exception {
        switch (role) {
            case RECEIVE_TIMED: {
                Object ms = call.arg(0);
                return ms instanceof Long && (Long) ms > 0 ? (Long) ms * 1_000_000L : 0L;
            }
            case SEND_OWN:
            case SEND_TO: {
                if (supertype(call.self.getClass(), ACTIVEMQ_PRODUCER) == null) {
                    return 0L;
                }
                Object ms = invoke(call.self, ACTIVEMQ_PRODUCER, "getSendTimeout");
                return ms instanceof Integer && (Integer) ms > 0 ? (Integer) ms * 1_000_000L : 0L;
            }
            default:
                return 0L;
        }
    }

    /**
     * The exception for a latency that the caller's own timeout ended. A send past ActiveMQ's
     * send timeout fails as ActiveMQ fails it: a {@code JMSException} named after, and caused
     * by, its {@code RequestTimedOutIOException}. A {@code receive(timeout)} fails with none:
     * it returns null ({@link #timedOutValue}).
     */
    @Override
    Throwable timeout(int role, Call call) {
        if (role == RECEIVE_TIMED) {
            return null;
        }
        Throwable t;
        try {
            t = jmsException(call.self, PRODUCER, ACTIVEMQ_TIMED_OUT + " (latency injected by faultline)");
        } catch (Exception e) {
            return null; // no JMS API to fail it with: the send goes on
        }
        try {
            ClassLoader activemq = call.self.getClass().getClassLoader();
            Class<?> type = Class.forName(ACTIVEMQ_TIMED_OUT, false, activemq);
            Exception cause = (Exception) type.getConstructor().newInstance();
            t.getClass().getMethod("setLinkedException", Exception.class).invoke(t, cause);
            t.initCause(cause);
        } catch (Exception e) {
            // The JMSException alone.
        }
        return t;
    }

    /**
     * {@code receive(timeout)} whose latency its timeout ended returns null, as it does when no
     * message comes in time (the message stays for the next receive); the sends fail
     * ({@link #timeout}).
     */
    @Override
    Object timedOutValue(int role, Call call) {
        return role == RECEIVE_TIMED ? null : Hook.PROCEED;
    }
}
