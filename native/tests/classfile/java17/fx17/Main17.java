package fx17;

public class Main17 {
    public static void main(String[] args) {
        System.out.print(fx.Main.shapes());
        System.out.println(Modern.run());
    }
}
