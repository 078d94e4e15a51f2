package dev.spindle.quantize;

import dev.spindle.gguf.GgufTensor;
import dev.spindle.quant.GgmlType;

/**
 * What {@link ModelQuantizer} does with one tensor.
 *
 * @param tensor the tensor of the input file
 * @param type the type it is written in
 * @param reason why that type, for the command's report
 */
public record TensorChoice(GgufTensor tensor, GgmlType type, String reason) {

    /** Whether the bytes are copied unchanged. */
    public boolean copied() {
        return type == tensor.type();
    }

    /** Bytes the tensor takes in the output. */
    public long outputBytes() {
        return type.bytesFor(tensor.elementCount());
    }
}
