package io.faultline.boot;

/**
 * The {@code http-client} preset: outgoing requests of the JDK HttpClient, HttpURLConnection,
 * Apache HttpClient 4 and 5, and OkHttp.
 */
final class HttpClientPreset extends Preset {
    private final String url;
    private final String method;

    HttpClientPreset(Keys keys, int status, String throwName) {
        super("http-client", status, throwName);
        this.url = keys.get("url");
        this.method = keys.get("method");
    }

    @Override
    int roleOf(String name, String descriptor) {
        return NONE;
    }

    @Override
    boolean acts(int role) {
        return true;
    }

    @Override
    String match(int role, Call call) {
        return null;
    }
}
