package fx;

/** Exercises every fixture shape and prints deterministic results. */
public class Main {
    public static String shapes() {
        StringBuilder sb = new StringBuilder();
        for (Object o : Ctors.many()) sb.append(o).append(' ');
        sb.append(Ctors.newFirst(true)).append(Ctors.newFirst(false)).append('\n');
        sb.append(Switches.run()).append('\n');
        sb.append(Color.total()).append(Color.RED.code).append('\n');
        sb.append(Exceptions.run()).append('\n');
        sb.append(Sync.run()).append('\n');
        sb.append(Loops.run()).append('\n');
        sb.append(Shapes.run()).append('\n');
        sb.append(Huge.nearLimit(1)).append(' ').append(Huge.overLimit(2)).append('\n');
        return sb.toString();
    }

    public static void main(String[] args) {
        System.out.print(shapes());
    }
}
