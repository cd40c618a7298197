package presets;

import static presets.Check.arm;
import static presets.Check.check;
import static presets.Check.injected;
import static presets.Check.injections;
import static presets.Check.report;
import static presets.Check.thrown;

import io.faultline.FaultEvent;
import io.faultline.Faultline;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import javax.jms.Connection;
import javax.jms.DeliveryMode;
import javax.jms.JMSException;
import javax.jms.Message;
import javax.jms.MessageConsumer;
import javax.jms.MessageListener;
import javax.jms.MessageProducer;
import javax.jms.Queue;
import javax.jms.QueueSender;
import javax.jms.QueueSession;
import javax.jms.Session;
import javax.jms.TextMessage;
import javax.jms.Topic;
import javax.jms.TopicPublisher;
import javax.jms.TopicSession;
import javax.jms.TopicSubscriber;
import org.apache.activemq.ActiveMQConnectionFactory;
import org.apache.activemq.ActiveMQMessageProducer;
import org.apache.activemq.RedeliveryPolicy;
import org.apache.activemq.broker.BrokerService;
import org.apache.activemq.transport.RequestTimedOutIOException;

/**
 * The jms preset against a real ActiveMQ broker embedded in the test JVM (no persistence, no
 * JMX, the vm:// transport), with real producers, consumers and listeners: every case asserts
 * what the application code saw (what it sent, received, processed, and what was thrown).
 * Run by tests/presets_jms.rs.
 */
public final class JmsCases {
    public static void main(String[] args) {
        Check.run(JmsCases.class, args);
    }

    private static final String JMS_EXCEPTION = "javax.jms.JMSException";

    /** A broker of its own for the case, started. */
    static BrokerService broker(String name) throws Exception {
        BrokerService broker = new BrokerService();
        broker.setBrokerName(name);
        broker.setPersistent(false);
        broker.setUseJmx(false);
        broker.setUseShutdownHook(false);
        broker.setAdvisorySupport(false);
        broker.start();
        broker.waitUntilStarted();
        return broker;
    }

    /** A connection to {@code broker}, started; redeliveries after 100 ms, at most 2 of them. */
    static Connection connect(BrokerService broker) throws JMSException {
        String url = "vm://" + broker.getBrokerName() + "?create=false";
        ActiveMQConnectionFactory factory = new ActiveMQConnectionFactory(url);
        RedeliveryPolicy redelivery = factory.getRedeliveryPolicy();
        redelivery.setInitialRedeliveryDelay(100);
        redelivery.setRedeliveryDelay(100);
        redelivery.setUseExponentialBackOff(false);
        redelivery.setMaximumRedeliveries(2);
        Connection connection = factory.createConnection();
        connection.start();
        return connection;
    }

    static String text(Message m) throws JMSException {
        return m == null ? null : ((TextMessage) m).getText();
    }

    static long millisSince(long t0) {
        return (System.nanoTime() - t0) / 1_000_000;
    }

    /** Every injection of {@code id} names the preset and the call it matched. */
    static List<FaultEvent> checkedEvents(String id, String matchedPrefix, String exception) {
        List<FaultEvent> fired = injections(id);
        for (FaultEvent e : fired) {
            check("jms".equals(e.preset()), "the event names the preset: " + e);
            check(e.matched() != null && e.matched().startsWith(matchedPrefix),
                    "the event names the call and destination (" + matchedPrefix + "...): " + e);
            check(exception == null || exception.equals(e.exception()), "the event names " + exception + ": " + e);
        }
        return fired;
    }

    /**
     * Producer side: sends to orders.* fail (the producer's own destination, an anonymous
     * producer's, a QueueSender's, a TopicPublisher's), once per send however many sends
     * ActiveMQ nests, and nothing of them reaches the broker; sends to audit.* are delayed; a
     * latency past ActiveMQ's send timeout ends at it with ActiveMQ's own timeout; a class of
     * the fault's own is thrown as named; receiving is untouched; stopping restores sending.
     */
    static void producerSide(String[] args) throws Exception {
        BrokerService broker = broker("producer-side");
        Connection connection = connect(broker);
        try {
            Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Queue orders = session.createQueue("orders.created");
            Queue audit = session.createQueue("audit.log");
            Queue payments = session.createQueue("payments.in");
            Queue inventory = session.createQueue("inventory.reserve");
            Topic events = session.createTopic("orders.events");
            MessageProducer toOrders = session.createProducer(orders);
            toOrders.send(session.createTextMessage("before"));
            MessageConsumer ordersIn = session.createConsumer(orders);

            arm("[[fault]]", "id = \"orders-down\"", "kind = \"exception\"", "preset = \"jms\"",
                    "destination = \"orders.*\"", "side = \"producer\"",
                    "[[fault]]", "id = \"slow-audit\"", "kind = \"latency\"", "preset = \"jms\"",
                    "destination = \"audit.*\"", "side = \"producer\"", "delay = \"300ms\"",
                    "[[fault]]", "id = \"slow-broker\"", "kind = \"latency\"", "preset = \"jms\"",
                    "destination = \"payments.*\"", "delay = \"3s\"",
                    "[[fault]]", "id = \"no-stock\"", "kind = \"exception\"", "preset = \"jms\"",
                    "destination = \"inventory.*\"", "throw = \"javax.jms.ResourceAllocationException\"",
                    "[[fault]]", "id = \"elsewhere\"", "kind = \"exception\"", "preset = \"jms\"",
                    "destination = \"billing.*\"");

            int expected = 0;
            Throwable t = thrown(() -> toOrders.send(session.createTextMessage("lost-1")));
            check(injected(t, JMS_EXCEPTION), "send(Message) to orders.created fails with a JMSException: " + t);
            check(t instanceof JMSException, "the application catches it as a JMSException: " + t);
            expected++;
            TextMessage lost2 = session.createTextMessage("lost-2");
            check(injected(thrown(() -> toOrders.send(lost2, DeliveryMode.NON_PERSISTENT, 4, 0)), JMS_EXCEPTION),
                    "send(Message, mode, priority, ttl) fails");
            expected++;
            MessageProducer anonymous = session.createProducer(null);
            check(injected(thrown(() -> anonymous.send(orders, session.createTextMessage("lost-3"))), JMS_EXCEPTION),
                    "an anonymous producer's send(orders.created, Message) fails");
            expected++;
            QueueSender sender = ((QueueSession) session).createSender(orders);
            check(injected(thrown(() -> sender.send(orders, session.createTextMessage("lost-4"))), JMS_EXCEPTION),
                    "a QueueSender's send fails");
            expected++;
            TopicPublisher publisher = ((TopicSession) session).createPublisher(events);
            check(injected(thrown(() -> publisher.publish(session.createTextMessage("lost-5"))), JMS_EXCEPTION),
                    "a TopicPublisher's publish to orders.events fails");
            expected++;

            MessageProducer toAudit = session.createProducer(audit);
            long t0 = System.nanoTime();
            toAudit.send(session.createTextMessage("audited"));
            long ms = millisSince(t0);
            check(ms >= 300, "the send to audit.log waited the delay: " + ms + " ms");

            ActiveMQMessageProducer toPayments = (ActiveMQMessageProducer) session.createProducer(payments);
            toPayments.setSendTimeout(400);
            t0 = System.nanoTime();
            t = thrown(() -> toPayments.send(session.createTextMessage("too-late")));
            ms = millisSince(t0);
            check(t instanceof JMSException && t.getCause() instanceof RequestTimedOutIOException
                            && ((JMSException) t).getLinkedException() instanceof RequestTimedOutIOException,
                    "a latency past ActiveMQ's send timeout fails as ActiveMQ does: " + t);
            check(ms >= 390 && ms < 2500, "at the send timeout (400 ms), not the delay (3 s): " + ms + " ms");

            MessageProducer toInventory = session.createProducer(inventory);
            t = thrown(() -> toInventory.send(session.createTextMessage("reserve")));
            check(injected(t, "javax.jms.ResourceAllocationException"), "a class of the fault's own is thrown: " + t);

            check("before".equals(text(ordersIn.receive(2000))), "receiving is untouched by producer faults");

            List<FaultEvent> fired = checkedEvents("orders-down", "send ", JMS_EXCEPTION);
            check(fired.size() == expected, "one injection per send, not one per nested send: " + fired.size() + " of "
                    + expected + " " + fired);
            check(fired.get(0).matched().equals("send queue://orders.created"), "the event names it: " + fired.get(0));
            check(fired.get(4).matched().equals("send topic://orders.events"), "a publish is a send: " + fired.get(4));
            List<FaultEvent> slow = checkedEvents("slow-audit", "send queue://audit.log", null);
            check(slow.size() == 1 && slow.get(0).delayMillis() >= 300, "one delay, recorded: " + slow);
            List<FaultEvent> late = checkedEvents("slow-broker", "send queue://payments.in", null);
            check(late.size() == 1 && Boolean.TRUE.equals(late.get(0).get("timed_out")),
                    "the timed-out delay is recorded as such: " + late);
            check(checkedEvents("no-stock", "send queue://inventory.reserve", "javax.jms.ResourceAllocationException")
                    .size() == 1, "no-stock fired once");
            check(injections("elsewhere").isEmpty(), "the fault on billing.* never fired: " + injections("elsewhere"));
            report("matched", fired.get(0).matched());

            Faultline.stopAll();
            toOrders.send(session.createTextMessage("after"));
            check("after".equals(text(ordersIn.receive(2000))), "after stop, the send reaches the consumer");
            check(ordersIn.receive(300) == null, "none of the failed sends reached the broker");
            toPayments.send(session.createTextMessage("on-time"));
            check(injections("slow-broker").size() == 1, "after stop, sends are not delayed");
            MessageConsumer paymentsIn = session.createConsumer(payments);
            check("on-time".equals(text(paymentsIn.receive(2000))), "the timed-out send never reached the broker");
            check(paymentsIn.receive(300) == null, "only the send after stop did");
        } finally {
            connection.close();
            broker.stop();
        }
    }

    /**
     * Consumer side, receiving: receive(), receive(timeout) and receiveNoWait() from orders.*
     * fail (a consumer created before the fault was armed too) and take no message; receives
     * from shipments.* are delayed, and a delay past receive(timeout)'s timeout ends at that
     * timeout, the message left for the next receive; audit.* is untouched, and so is sending
     * to orders.*; stopping restores receiving, every message still there.
     */
    static void consumerReceives(String[] args) throws Exception {
        BrokerService broker = broker("consumer-receives");
        Connection connection = connect(broker);
        try {
            Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Queue orders = session.createQueue("orders.created");
            Queue early = session.createQueue("orders.early");
            Queue audit = session.createQueue("audit.log");
            Queue shipments = session.createQueue("shipments.in");
            Topic events = session.createTopic("orders.events");
            MessageConsumer earlyIn = session.createConsumer(early);

            arm("[[fault]]", "id = \"receive-down\"", "kind = \"exception\"", "preset = \"jms\"",
                    "destination = \"orders.*\"", "side = \"consumer\"",
                    "[[fault]]", "id = \"slow-shipments\"", "kind = \"latency\"", "preset = \"jms\"",
                    "destination = \"shipments.*\"", "side = \"consumer\"", "delay = \"500ms\"");

            MessageProducer producer = session.createProducer(null);
            for (String body : new String[] {"o1", "o2"}) {
                producer.send(orders, session.createTextMessage(body));
            }
            producer.send(early, session.createTextMessage("e1"));
            producer.send(audit, session.createTextMessage("a1"));
            for (String body : new String[] {"s1", "s2", "s3"}) {
                producer.send(shipments, session.createTextMessage(body));
            }
            check(injections("receive-down").isEmpty(), "sending to orders.* is untouched by a consumer fault");

            MessageConsumer ordersIn = session.createConsumer(orders);
            check(injected(thrown(() -> ordersIn.receive(2000)), JMS_EXCEPTION), "receive(timeout) fails");
            check(injected(thrown(ordersIn::receive), JMS_EXCEPTION), "receive() fails");
            check(injected(thrown(ordersIn::receiveNoWait), JMS_EXCEPTION), "receiveNoWait() fails");
            check(injected(thrown(() -> earlyIn.receive(2000)), JMS_EXCEPTION),
                    "a consumer created before the fault was armed fails too");
            TopicSubscriber subscriber = ((TopicSession) session).createSubscriber(events);
            check(injected(thrown(() -> subscriber.receive(2000)), JMS_EXCEPTION),
                    "a topic subscriber's receive fails");
            MessageConsumer auditIn = session.createConsumer(audit);
            check("a1".equals(text(auditIn.receive(2000))), "audit.log is untouched");

            MessageConsumer shipmentsIn = session.createConsumer(shipments);
            long t0 = System.nanoTime();
            Message first = shipmentsIn.receive(5000);
            long ms = millisSince(t0);
            check("s1".equals(text(first)), "a delayed receive gets the message: " + text(first));
            check(ms >= 500 && ms < 5000, "after the delay: " + ms + " ms");
            // A delay (500 ms) past receive(200)'s timeout ends as that receive does when no
            // message comes in time: null at the timeout, the message left for the next receive.
            t0 = System.nanoTime();
            Message second = shipmentsIn.receive(200);
            ms = millisSince(t0);
            check(second == null, "a receive whose delay passed its timeout returns null: " + text(second));
            check(ms >= 190 && ms < 2500, "at the receive timeout (200 ms), not the delay (500 ms): " + ms + " ms");
            t0 = System.nanoTime();
            Message third = shipmentsIn.receiveNoWait();
            ms = millisSince(t0);
            check("s2".equals(text(third)), "the next receive gets the message the timed-out one left: " + text(third));
            check(ms >= 500, "delayed too: " + ms + " ms");

            List<FaultEvent> fired = checkedEvents("receive-down", "receive", JMS_EXCEPTION);
            check(fired.size() == 5, "one injection per receive: " + fired);
            check(fired.get(0).matched().equals("receive queue://orders.created"), "named: " + fired.get(0));
            check(fired.get(2).matched().equals("receiveNoWait queue://orders.created"), "named: " + fired.get(2));
            check(fired.get(3).matched().equals("receive queue://orders.early"),
                    "the early consumer's destination is known: " + fired.get(3));
            check(fired.get(4).matched().equals("receive topic://orders.events"), "named: " + fired.get(4));
            List<FaultEvent> slow = checkedEvents("slow-shipments", "receive", null);
            check(slow.size() == 3, "three delayed receives: " + slow);
            check(Boolean.TRUE.equals(slow.get(1).get("timed_out")), "the second ended at its timeout: " + slow.get(1));
            report("matched", fired.get(0).matched());

            Faultline.stopAll();
            check("o1".equals(text(ordersIn.receive(2000))) && "o2".equals(text(ordersIn.receive(2000))),
                    "after stop, receive gets every message, none lost");
            check("e1".equals(text(earlyIn.receive(2000))), "and the early consumer its own");
            check("s3".equals(text(shipmentsIn.receiveNoWait())), "and the shipments consumer the last, at once");
            check(injections("slow-shipments").size() == 3, "no delay after stop");
        } finally {
            connection.close();
            broker.stop();
        }
    }

    /** What a listener processed: the body, whether it was a redelivery, when. */
    static final class Processed {
        final String body;
        final boolean redelivered;
        final int deliveryCount;
        final long at;

        Processed(Message m) throws JMSException {
            this.body = text(m);
            this.redelivered = m.getJMSRedelivered();
            this.deliveryCount = m.getIntProperty("JMSXDeliveryCount");
            this.at = System.nanoTime();
        }

        @Override
        public String toString() {
            return body + (redelivered ? " (redelivered, delivery " + deliveryCount + ")" : "");
        }
    }

    /** The application's listener: records each message it processes. */
    static final class Recorder implements MessageListener {
        final BlockingQueue<Processed> processed = new LinkedBlockingQueue<>();

        @Override
        public void onMessage(Message message) {
            try {
                processed.add(new Processed(message));
            } catch (JMSException e) {
                throw new RuntimeException(e);
            }
        }

        Processed next(long ms) throws InterruptedException {
            return processed.poll(ms, TimeUnit.MILLISECONDS);
        }
    }

    /**
     * Consumer side, listeners: a delivery from orders.* fails (twice, by the fault's limit)
     * and ActiveMQ redelivers it, the listener processing it once, as a redelivery; a
     * delivery from payments.* always fails, so after its redeliveries ActiveMQ moves the
     * message to its dead letter queue; shipments.* deliveries are delayed; audit.* is
     * untouched; stopping restores delivery.
     */
    static void listenerDeliveries(String[] args) throws Exception {
        BrokerService broker = broker("listener-deliveries");
        Connection connection = connect(broker);
        try {
            Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Queue orders = session.createQueue("orders.created");
            Queue payments = session.createQueue("payments.in");
            Queue shipments = session.createQueue("shipments.in");
            Queue audit = session.createQueue("audit.log");

            arm("[[fault]]", "id = \"flaky-orders\"", "kind = \"exception\"", "preset = \"jms\"",
                    "destination = \"orders.*\"", "side = \"consumer\"", "limit = 2",
                    "[[fault]]", "id = \"poison-payments\"", "kind = \"exception\"", "preset = \"jms\"",
                    "destination = \"payments.*\"", "side = \"consumer\"",
                    "[[fault]]", "id = \"slow-shipments\"", "kind = \"latency\"", "preset = \"jms\"",
                    "destination = \"shipments.*\"", "side = \"consumer\"", "delay = \"300ms\"");
            // Armed through the Java API: a fault of both sides.
            Faultline.fault("exception").id("refunds-down").preset("jms").destination("refunds.*").arm();

            Recorder ordersSeen = new Recorder();
            listen(connection, orders, new Wrapping(ordersSeen));
            Recorder paymentsSeen = listen(connection, payments);
            Recorder shipmentsSeen = listen(connection, shipments);
            Recorder auditSeen = listen(connection, audit);
            MessageProducer producer = session.createProducer(null);

            producer.send(audit, session.createTextMessage("a1"));
            Processed a1 = auditSeen.next(2000);
            check(a1 != null && "a1".equals(a1.body) && !a1.redelivered, "audit.log is delivered at once: " + a1);

            producer.send(orders, session.createTextMessage("o1"));
            Processed o1 = ordersSeen.next(5000);
            check(o1 != null && "o1".equals(o1.body), "the order is processed in the end: " + o1);
            check(o1.redelivered && o1.deliveryCount == 3, "as ActiveMQ's second redelivery: " + o1);
            check(ordersSeen.next(300) == null, "and processed once (the listener wrapping it is the same delivery)");

            // A listener that sends: its sends are sends of their own, also for a fault of both
            // sides, which holds the listener's delivery (returns.in, not a match) as it sends.
            Queue returns = session.createQueue("returns.in");
            Queue refunds = session.createQueue("refunds.out");
            Session forwarding = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
            Forwarder forwarder = new Forwarder(forwarding, refunds);
            forwarding.createConsumer(returns).setMessageListener(forwarder);
            producer.send(returns, session.createTextMessage("r1"));
            String outcome = forwarder.outcomes.poll(5, TimeUnit.SECONDS);
            check("injected".equals(outcome), "the listener's send to refunds.out fails: " + outcome);
            MessageConsumer refundsIn = session.createConsumer(refunds);

            long sent = System.nanoTime();
            producer.send(shipments, session.createTextMessage("s1"));
            Processed s1 = shipmentsSeen.next(5000);
            check(s1 != null && "s1".equals(s1.body) && !s1.redelivered, "the shipment is processed: " + s1);
            long ms = (s1.at - sent) / 1_000_000;
            check(ms >= 300, "after the delay: " + ms + " ms");

            producer.send(payments, session.createTextMessage("p1"));
            MessageConsumer dead = session.createConsumer(session.createQueue("ActiveMQ.DLQ"));
            Message poisoned = dead.receive(5000);
            check("p1".equals(text(poisoned)),
                    "after its redeliveries failed, the payment is in the dead letter queue: " + text(poisoned));
            check(paymentsSeen.next(100) == null, "the payments listener never processed it");

            List<FaultEvent> flaky = checkedEvents("flaky-orders", "onMessage queue://orders.created", null);
            check(flaky.size() == 2, "two failed deliveries (the limit): " + flaky);
            for (FaultEvent e : flaky) {
                check("java.lang.RuntimeException".equals(e.exception()),
                        "a listener fails with a RuntimeException (the JMSException its cause): " + e);
            }
            List<FaultEvent> poison = checkedEvents("poison-payments", "onMessage queue://payments.in", null);
            check(poison.size() == 3, "the first delivery and both redeliveries failed: " + poison);
            List<FaultEvent> slow = checkedEvents("slow-shipments", "onMessage queue://shipments.in", null);
            check(slow.size() == 1 && slow.get(0).delayMillis() >= 300, "one delayed delivery: " + slow);
            List<FaultEvent> refused = checkedEvents("refunds-down", "send queue://refunds.out", JMS_EXCEPTION);
            check(refused.size() == 1, "the listener's send failed once: " + refused);
            report("matched", flaky.get(0).matched());

            Faultline.stopAll();
            producer.send(payments, session.createTextMessage("p2"));
            Processed p2 = paymentsSeen.next(2000);
            check(p2 != null && "p2".equals(p2.body) && !p2.redelivered, "after stop, delivered at once: " + p2);
            producer.send(shipments, session.createTextMessage("s2"));
            Processed s2 = shipmentsSeen.next(2000);
            check(s2 != null && !s2.redelivered, "and the shipment: " + s2);
            check(injections("slow-shipments").size() == 1, "without delay: " + injections("slow-shipments"));
            producer.send(returns, session.createTextMessage("r2"));
            outcome = forwarder.outcomes.poll(5, TimeUnit.SECONDS);
            check("forwarded r2".equals(outcome), "the listener forwards again: " + outcome);
            check("r2".equals(text(refundsIn.receive(2000))), "to refunds.out, where r1 never arrived");
        } finally {
            connection.close();
            broker.stop();
        }
    }

    /** A listener that hands each message to another (as tracing or retry decorators do). */
    static final class Wrapping implements MessageListener {
        final MessageListener inner;

        Wrapping(MessageListener inner) {
            this.inner = inner;
        }

        @Override
        public void onMessage(Message message) {
            inner.onMessage(message);
        }
    }

    /** A listener that forwards each message to another queue, on its own session, and records how that went. */
    static final class Forwarder implements MessageListener {
        final MessageProducer producer;
        final TextMessage template;
        final BlockingQueue<String> outcomes = new LinkedBlockingQueue<>();

        Forwarder(Session session, Queue to) throws JMSException {
            this.producer = session.createProducer(to);
            this.template = session.createTextMessage();
        }

        @Override
        public void onMessage(Message message) {
            try {
                template.setText(text(message));
                producer.send(template);
                outcomes.add("forwarded " + text(message));
            } catch (JMSException e) {
                outcomes.add(injected(e, JMS_EXCEPTION) ? "injected" : e.toString());
            }
        }
    }

    static Recorder listen(Connection connection, Queue queue) throws JMSException {
        Recorder recorder = new Recorder();
        listen(connection, queue, recorder);
        return recorder;
    }

    /** {@code listener} on a session of its own (the provider delivers a session's messages on one thread). */
    static Session listen(Connection connection, Queue queue, MessageListener listener) throws JMSException {
        Session session = connection.createSession(false, Session.AUTO_ACKNOWLEDGE);
        session.createConsumer(queue).setMessageListener(listener);
        return session;
    }
}
