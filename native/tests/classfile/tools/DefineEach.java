import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Defines every file under a directory as a class, each in a class loader of its own (so
 * that classes of the same name do not clash), and links it, which runs the verifier (a
 * class from a loader other than the boot loader is always verified). Prints one line per
 * file: "ACCEPTED <file>" or "REJECTED <file> <error>".
 */
public class DefineEach {
    static final class OneClass extends ClassLoader {
        OneClass() {
            super(DefineEach.class.getClassLoader());
        }

        Class<?> define(byte[] bytes) {
            return defineClass(null, bytes, 0, bytes.length);
        }
    }

    public static void main(String[] args) throws Exception {
        Path root = Paths.get(args[0]);
        List<Path> files;
        try (Stream<Path> s = Files.list(root)) {
            files = s.filter(Files::isRegularFile).sorted().collect(Collectors.toList());
        }
        for (Path file : files) {
            String name = file.getFileName().toString();
            try {
                Class<?> c = new OneClass().define(Files.readAllBytes(file));
                c.getDeclaredMethods();
                c.getDeclaredConstructors();
                System.out.println("ACCEPTED " + name);
            } catch (Throwable t) {
                System.out.println("REJECTED " + name + " " + String.valueOf(t).replace('\n', ' '));
            }
        }
    }
}
