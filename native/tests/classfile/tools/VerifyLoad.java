import java.io.File;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Loads and links every class under a directory in a URLClassLoader (run it
 * with -Xverify:all). Class.forName(name, false, loader) only loads;
 * getDeclaredMethods() makes HotSpot link the class, which runs the
 * verifier. Prints "VERIFY_FAIL <class> <error>" for VerifyError and
 * ClassFormatError (and their subclasses), "OTHER_FAIL ..." for failures
 * unrelated to verification (missing optional dependencies), then a summary
 * line "SUMMARY linked=N verifyFailures=N otherFailures=N".
 */
public class VerifyLoad {
    public static void main(String[] args) throws Exception {
        Path root = Paths.get(args[0]);
        List<String> names;
        try (Stream<Path> s = Files.walk(root)) {
            names = s.filter(p -> p.toString().endsWith(".class"))
                     .map(p -> root.relativize(p).toString())
                     .filter(n -> !n.startsWith("META-INF") && !n.endsWith("module-info.class")
                                  && !n.endsWith("package-info.class"))
                     .map(n -> n.substring(0, n.length() - 6).replace(File.separatorChar, '.'))
                     .sorted()
                     .collect(Collectors.toList());
        }
        URLClassLoader loader = new URLClassLoader(new URL[] {root.toUri().toURL()},
                                                   VerifyLoad.class.getClassLoader());
        int linked = 0, verifyFailures = 0, other = 0;
        for (String name : names) {
            try {
                Class<?> c = Class.forName(name, false, loader);
                c.getDeclaredMethods();
                c.getDeclaredConstructors();
                linked++;
            } catch (VerifyError | ClassFormatError e) {
                verifyFailures++;
                System.out.println("VERIFY_FAIL " + name + " " + e);
            } catch (Throwable t) {
                // A VerifyError can surface wrapped or as the cause chain.
                Throwable c = t;
                boolean verify = false;
                while (c != null) {
                    if (c instanceof VerifyError || c instanceof ClassFormatError) verify = true;
                    c = c.getCause();
                }
                if (verify) {
                    verifyFailures++;
                    System.out.println("VERIFY_FAIL " + name + " " + t);
                } else {
                    other++;
                    System.out.println("OTHER_FAIL " + name + " " + t);
                }
            }
        }
        System.out.println("SUMMARY linked=" + linked + " verifyFailures=" + verifyFailures
                           + " otherFailures=" + other);
    }
}
