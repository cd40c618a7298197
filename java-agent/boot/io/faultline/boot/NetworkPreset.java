package io.faultline.boot;

import java.net.InetAddress;
import java.net.InetSocketAddress;

/** The presets of the network below every client library: name resolution and TCP connects. */
final class NetworkPreset {
    private NetworkPreset() {}

    /**
     * {@code dns}: {@code InetAddress.getByName} and {@code getAllByName}, through which
     * sockets, URLs and HTTP clients resolve names. Literal addresses resolve nothing and
     * never match.
     */
    static final class Dns extends Preset {
        private static final int RESOLVE = 1;
        private final String host;

        Dns(Keys keys, int status, String throwName) {
            super("dns", status, throwName);
            this.host = keys.get("host");
        }

        @Override
        int roleOf(String method, String descriptor) {
            return (method.equals("getByName") || method.equals("getAllByName"))
                    && descriptor.startsWith("(Ljava/lang/String;)") ? RESOLVE : NONE;
        }

        @Override
        String match(int role, Call call) {
            Object name = call.arg(0);
            if (!(name instanceof String) || ((String) name).isEmpty() || literal((String) name)) {
                return null;
            }
            return glob(host, (String) name) ? (String) name : null;
        }

        /** An IPv4 or IPv6 literal, which InetAddress takes without a lookup. */
        private static boolean literal(String name) {
            if (name.indexOf(':') >= 0 || name.startsWith("[")) {
                return true;
            }
            for (int i = 0; i < name.length(); i++) {
                char c = name.charAt(i);
                if (c != '.' && (c < '0' || c > '9')) {
                    return false;
                }
            }
            return true;
        }

        /** As the resolver says it on Linux: "HOST: Name or service not known". */
        @Override
        Throwable exception(int role, Call call, String matched, Fault.Thrower own) throws Exception {
            Class<?> type = own.type();
            if (type == java.net.UnknownHostException.class) {
                return new java.net.UnknownHostException(own.text(matched + ": Name or service not known"));
            }
            return own.build(matched + ": Name or service not known");
        }
    }

    /**
     * {@code socket}: {@code Socket.connect} (every constructor that connects calls it) and
     * {@code SocketChannel.connect}: every client library built on them.
     */
    static final class Sockets extends Preset {
        private static final int SOCKET = 1;
        private static final int CHANNEL = 2;
        private final String host;
        private final int port;

        Sockets(Keys keys, int status, String throwName) {
            super("socket", status, throwName);
            this.host = keys.get("host");
            this.port = keys.get("port") == null ? -1 : Integer.parseInt(keys.get("port"));
        }

        @Override
        int roleOf(String method, String descriptor) {
            if (!method.equals("connect")) {
                return NONE;
            }
            if (descriptor.equals("(Ljava/net/SocketAddress;I)V")) {
                return SOCKET;
            }
            return descriptor.equals("(Ljava/net/SocketAddress;)Z") ? CHANNEL : NONE;
        }

        @Override
        String match(int role, Call call) {
            Object target = call.arg(0);
            if (!(target instanceof InetSocketAddress)) {
                return null;
            }
            InetSocketAddress address = (InetSocketAddress) target;
            if (port > 0 && address.getPort() != port) {
                return null;
            }
            String name = address.getHostString();
            InetAddress resolved = address.getAddress();
            String ip = resolved == null ? null : resolved.getHostAddress();
            if (host != null && !glob(host, name) && !glob(host, ip)) {
                return null;
            }
            return name + ":" + address.getPort();
        }

        @Override
        Throwable exception(int role, Call call, String matched, Fault.Thrower own) throws Exception {
            return own.build("Connection refused");
        }

        /** A socket's connect timeout (the second argument, in milliseconds). */
        @Override
        long timeoutNanos(int role, Call call) {
            if (role != SOCKET) {
                return 0L;
            }
            Object ms = call.arg(1);
            return ms instanceof Integer && (Integer) ms > 0 ? (Integer) ms * 1_000_000L : 0L;
        }

        @Override
        Throwable timeout(int role, Call call) {
            return new java.net.SocketTimeoutException("Connect timed out");
        }
    }
}
