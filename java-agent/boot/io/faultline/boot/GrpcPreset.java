package io.faultline.boot;

/** The {@code grpc} preset: gRPC calls, client side and server side. */
final class GrpcPreset extends Preset {
    GrpcPreset(Keys keys, int status, String throwName) {
        super("grpc", status, throwName);
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
