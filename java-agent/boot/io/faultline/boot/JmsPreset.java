package io.faultline.boot;

/** The {@code jms} preset: sending and receiving JMS messages. */
final class JmsPreset extends Preset {
    JmsPreset(Keys keys, int status, String throwName) {
        super("jms", status, throwName);
    }

    @Override
    int roleOf(String method, String descriptor) {
        return NONE;
    }

    @Override
    String match(int role, Call call) {
        return null;
    }
}
