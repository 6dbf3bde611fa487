// SPDX-License-Identifier: LGPL-2.1-or-later
// The operator allow-list and the two passes over a bundle's code (before and after loading).
#include "engine/model/code_checks.h"

#include <unordered_set>

#include <caffe2/serialize/inline_container.h>
#include <torch/csrc/jit/api/function_impl.h>

namespace feremotion {

namespace {

// The names of the operators, grouped by what they are for. Overloads share a name (aten::add
// covers tensors, ints, floats and strings). A name missing here refuses a model that a user can
// still run with trust-model; an operator that touches anything outside the tensors in memory
// must never be added.
const std::unordered_set<std::string> &allowedOperators()
{
    static const std::unordered_set<std::string> names = [] {
        const char *const groups[] = {
            // The language: values, control flow, containers, attributes, calls, exceptions.
            "prim::Constant prim::If prim::Loop prim::ListConstruct prim::ListUnpack prim::TupleConstruct "
            "prim::TupleUnpack prim::TupleIndex prim::TupleSlice prim::DictConstruct prim::DictIndex "
            "prim::GetAttr prim::SetAttr prim::CallMethod prim::CallFunction prim::CreateObject "
            "prim::NumToTensor prim::RaiseException prim::Uninitialized prim::unchecked_cast "
            "prim::unchecked_unwrap_optional prim::isinstance prim::device prim::dtype prim::layout "
            "prim::is_cuda prim::is_cpu prim::is_nested prim::is_quantized prim::is_mkldnn prim::is_sparse "
            "prim::requires_grad prim::min prim::max prim::abs prim::tolist prim::EnumName prim::EnumValue "
            "prim::StringIndex prim::data prim::shape prim::rangelist prim::AutogradAdd",
            // Scalars, lists, dicts and strings as TorchScript code uses them for shapes and checks.
            "aten::Bool aten::Int aten::Float aten::Complex aten::ScalarImplicit aten::IntImplicit "
            "aten::FloatImplicit aten::ComplexImplicit aten::str aten::len aten::list aten::dict aten::format "
            "aten::warn aten::__getitem__ aten::_set_item aten::__contains__ aten::__is__ aten::__isnot__ "
            "aten::__not__ aten::__and__ aten::__or__ aten::__xor__ aten::__derive_index aten::__range_length "
            "aten::append aten::extend aten::insert aten::pop aten::remove aten::clear aten::copy aten::count "
            "aten::index aten::reverse aten::sort aten::sorted aten::keys aten::values aten::items aten::get "
            "aten::setdefault aten::update aten::join aten::find aten::startswith aten::endswith aten::strip "
            "aten::lower aten::upper aten::replace aten::splitlines aten::isdigit aten::slice aten::select "
            "aten::eq aten::ne aten::lt aten::le aten::gt aten::ge aten::neg aten::floor aten::ceil aten::round "
            "aten::floordiv aten::remainder aten::divmod aten::pow aten::sqrt aten::exp aten::log aten::abs "
            "aten::min aten::max aten::sum aten::any aten::all aten::isfinite aten::isnan aten::isinf "
            "aten::is_grad_enabled aten::is_autocast_enabled aten::is_scripting aten::device aten::dtype "
            "aten::numel aten::dim aten::size aten::stride aten::is_floating_point aten::is_complex "
            "aten::is_contiguous aten::item aten::tensor aten::as_tensor aten::scalar_tensor aten::detach "
            "aten::__interpolate aten::__upsample aten::__upsample_bilinear aten::_infer_size "
            "aten::_size_if_not_equal aten::__round_to_zero_floordiv aten::mathremainder aten::trunc",
            // Element-wise arithmetic and comparisons on tensors.
            "aten::add aten::add_ aten::sub aten::sub_ aten::rsub aten::mul aten::mul_ aten::div aten::div_ "
            "aten::true_divide aten::floor_divide aten::fmod aten::pow_ aten::sqrt_ aten::rsqrt aten::rsqrt_ "
            "aten::reciprocal aten::exp_ aten::exp2 aten::expm1 aten::log_ aten::log2 aten::log10 aten::log1p "
            "aten::abs_ aten::neg_ aten::sign aten::square aten::sin aten::cos aten::tan aten::asin aten::acos "
            "aten::atan aten::atan2 aten::sinh aten::cosh aten::erf aten::erfc aten::erfinv aten::lerp "
            "aten::addcmul aten::addcdiv aten::clamp aten::clamp_ aten::clamp_min aten::clamp_min_ "
            "aten::clamp_max aten::clamp_max_ aten::clip aten::maximum aten::minimum aten::fmax aten::fmin "
            "aten::where aten::masked_fill aten::masked_fill_ aten::logical_not aten::logical_and "
            "aten::logical_or aten::logical_xor aten::bitwise_not aten::bitwise_and aten::bitwise_or "
            "aten::eq_ aten::ne_ aten::lt_ aten::le_ aten::gt_ aten::ge_ aten::allclose aten::equal "
            "aten::isclose aten::nan_to_num aten::floor_ aten::ceil_ aten::round_ aten::trunc_ aten::frac "
            "aten::zero_ aten::fill_ aten::copy_ aten::mul_scalar aten::heaviside",
            // Activations, normalisation and regularisation.
            "aten::relu aten::relu_ aten::relu6 aten::relu6_ aten::leaky_relu aten::leaky_relu_ aten::prelu "
            "aten::rrelu aten::elu aten::elu_ aten::selu aten::selu_ aten::celu aten::celu_ aten::gelu "
            "aten::gelu_ aten::silu aten::silu_ aten::mish aten::mish_ aten::sigmoid aten::sigmoid_ "
            "aten::hardsigmoid aten::hardsigmoid_ aten::hardswish aten::hardswish_ aten::hardtanh "
            "aten::hardtanh_ aten::tanh aten::tanh_ aten::softplus aten::softsign aten::log_sigmoid aten::glu "
            "aten::threshold aten::threshold_ aten::hardshrink aten::softshrink aten::tanhshrink "
            "aten::softmax aten::log_softmax aten::_softmax aten::_log_softmax aten::softmin aten::logsumexp "
            "aten::batch_norm aten::_batch_norm_impl_index aten::native_batch_norm aten::instance_norm "
            "aten::layer_norm aten::native_layer_norm aten::group_norm aten::native_group_norm "
            "aten::local_response_norm aten::rms_norm aten::normalize aten::norm aten::linalg_vector_norm "
            "aten::frobenius_norm aten::renorm aten::dropout aten::dropout_ aten::feature_dropout "
            "aten::feature_dropout_ aten::alpha_dropout aten::alpha_dropout_ aten::feature_alpha_dropout "
            "aten::feature_alpha_dropout_ aten::bernoulli aten::bernoulli_ aten::native_dropout",
            // Layers: convolution, pooling, linear algebra, resampling, padding, embeddings, attention.
            "aten::conv1d aten::conv2d aten::conv3d aten::convolution aten::_convolution "
            "aten::conv_transpose1d aten::conv_transpose2d aten::conv_transpose3d aten::mkldnn_convolution "
            "aten::linear aten::bilinear aten::matmul aten::mm aten::bmm aten::addmm aten::addmv aten::addbmm "
            "aten::baddbmm aten::mv aten::dot aten::einsum aten::t aten::outer aten::cosine_similarity "
            "aten::pairwise_distance aten::cdist aten::max_pool1d aten::max_pool2d aten::max_pool3d "
            "aten::max_pool1d_with_indices aten::max_pool2d_with_indices aten::avg_pool1d aten::avg_pool2d "
            "aten::avg_pool3d aten::adaptive_avg_pool1d aten::adaptive_avg_pool2d aten::adaptive_avg_pool3d "
            "aten::_adaptive_avg_pool2d aten::adaptive_max_pool1d aten::adaptive_max_pool2d "
            "aten::adaptive_max_pool3d aten::lp_pool1d aten::lp_pool2d aten::fractional_max_pool2d "
            "aten::upsample_nearest1d aten::upsample_nearest2d aten::upsample_nearest3d "
            "aten::_upsample_nearest_exact1d aten::_upsample_nearest_exact2d aten::_upsample_nearest_exact3d "
            "aten::upsample_linear1d aten::upsample_bilinear2d aten::upsample_trilinear3d "
            "aten::upsample_bicubic2d aten::_upsample_bilinear2d_aa aten::_upsample_bicubic2d_aa "
            "aten::grid_sampler aten::grid_sample aten::affine_grid_generator aten::pixel_shuffle "
            "aten::pixel_unshuffle aten::channel_shuffle aten::native_channel_shuffle aten::pad "
            "aten::constant_pad_nd aten::reflection_pad1d aten::reflection_pad2d aten::replication_pad1d "
            "aten::replication_pad2d aten::_pad_circular aten::embedding aten::embedding_bag "
            "aten::scaled_dot_product_attention aten::_native_multi_head_attention "
            "aten::_transformer_encoder_layer_fwd aten::_nested_tensor_from_mask "
            "aten::_nested_tensor_from_mask_left_aligned aten::to_padded_tensor aten::_masked_softmax "
            "aten::_scaled_dot_product_attention aten::_fused_sdp_choice aten::lstm aten::gru aten::rnn_tanh "
            "aten::rnn_relu aten::lstm_cell aten::gru_cell aten::rnn_tanh_cell aten::rnn_relu_cell",
            // Shapes, views, copies, indexing and reductions.
            "aten::view aten::view_as aten::reshape aten::reshape_as aten::flatten aten::unflatten "
            "aten::squeeze aten::squeeze_ aten::unsqueeze aten::unsqueeze_ aten::permute aten::transpose "
            "aten::transpose_ aten::swapaxes aten::movedim aten::contiguous aten::expand aten::expand_as "
            "aten::repeat aten::repeat_interleave aten::tile aten::cat aten::concat aten::concatenate "
            "aten::stack aten::hstack aten::vstack aten::split aten::split_with_sizes aten::chunk "
            "aten::tensor_split aten::unbind aten::narrow aten::roll aten::flip aten::index_select "
            "aten::gather aten::scatter aten::scatter_add aten::index aten::index_put aten::index_put_ "
            "aten::masked_select aten::take aten::clone aten::to aten::type_as aten::_to_copy aten::float "
            "aten::half aten::bfloat16 aten::double aten::long aten::int aten::bool aten::contiguous_ "
            "aten::resolve_conj aten::resolve_neg aten::alias aten::as_strided aten::unfold aten::diagonal "
            "aten::tril aten::triu aten::mean aten::sum_ aten::prod aten::std aten::var aten::std_mean "
            "aten::var_mean aten::amax aten::amin aten::argmax aten::argmin aten::topk aten::kthvalue "
            "aten::median aten::cumsum aten::cumprod aten::max_other aten::min_other aten::argsort "
            "aten::nonzero aten::bucketize aten::one_hot aten::numpy_T aten::mT aten::__iand__ "
            "aten::__ior__ aten::__ixor__ aten::__lshift__ aten::__rshift__",
            // Making tensors.
            "aten::empty aten::empty_like aten::zeros aten::zeros_like aten::ones aten::ones_like aten::full "
            "aten::full_like aten::arange aten::linspace aten::logspace aten::eye aten::rand aten::rand_like "
            "aten::randn aten::randn_like aten::new_zeros aten::new_ones aten::new_full aten::new_empty "
            "aten::new_tensor aten::tensor_ aten::meshgrid aten::diag aten::diag_embed",
        };
        std::unordered_set<std::string> all;
        for (const char *group : groups) {
            std::string text(group);
            size_t begin = 0;
            while (begin < text.size()) {
                const size_t end = text.find(' ', begin);
                const size_t stop = end == std::string::npos ? text.size() : end;
                if (stop > begin)
                    all.insert(text.substr(begin, stop - begin));
                begin = stop + 1;
            }
        }
        return all;
    }();
    return names;
}

bool isCppClass(const c10::TypePtr &type)
{
    const auto cls = type->cast<c10::ClassType>();
    return cls && cls->name() && cls->name()->qualifiedName().rfind("__torch__.torch.classes.", 0) == 0;
}

// The class whose method a node calls, or whose object it makes; null for other nodes.
c10::TypePtr classUsedBy(const torch::jit::Node &node)
{
    if (node.kind() == c10::prim::CallMethod)
        return node.input(0)->type();
    if (node.kind() == c10::prim::CreateObject)
        return node.output()->type();
    return nullptr;
}

CodeObjection checkBlock(const torch::jit::Block &block, const std::string &function)
{
    for (const torch::jit::Node *node : block.nodes()) {
        const std::string kind = node->kind().toQualString();
        if (!isAllowedOperator(kind))
            return "calls operator " + kind + " (in " + function +
                   "), which is not on the list of operators a classifier needs";
        if (const c10::TypePtr cls = classUsedBy(*node); cls && isCppClass(cls))
            return "uses the C++ class " + cls->str() + " (in " + function + "), which a classifier does not need";
        for (const torch::jit::Block *inner : node->blocks())
            if (auto objection = checkBlock(*inner, function))
                return objection;
    }
    return std::nullopt;
}

} // namespace

bool isAllowedOperator(const std::string &qualifiedName)
{
    return allowedOperators().count(qualifiedName) > 0;
}

CodeObjection findLoadTimeCode(const std::string &path)
{
    caffe2::serialize::PyTorchStreamReader archive(path);
    for (const std::string &record : archive.getAllRecords()) {
        const bool code = record.rfind("code/", 0) == 0 && record.size() > 3 &&
                          record.compare(record.size() - 3, 3, ".py") == 0;
        if (!code)
            continue;
        const auto [data, size] = archive.getRecord(record);
        const std::string source(static_cast<const char *>(data.get()), size);
        if (source.find("__setstate__") != std::string::npos)
            return "defines __setstate__ (in " + record + "): code that loading the file would run";
    }
    return std::nullopt;
}

CodeObjection findDisallowedOperator(const torch::jit::Module &module)
{
    const auto unit = module._ivalue()->compilation_unit();
    for (torch::jit::Function *function : unit->get_functions()) {
        torch::jit::GraphFunction *graphFunction = torch::jit::tryToGraphFunction(*function);
        if (!graphFunction)
            continue; // a builtin, not the bundle's code
        if (auto objection = checkBlock(*graphFunction->graph()->block(), function->qualname().qualifiedName()))
            return objection;
    }
    return std::nullopt;
}

torch::jit::Module loadCheckedModule(const std::string &path, ModelTrust trust,
                                     const std::function<torch::jit::Module()> &load)
{
    const auto refuse = [&path](const std::string &objection) {
        return ModelError("model '" + path + "' " + objection +
                          "; it was not run (if you trust the file as you would a program, run it with the "
                          "element's trust-model=true or the trainer's --trust-model)");
    };
    if (trust == ModelTrust::Trusted)
        return load();
    if (auto objection = findLoadTimeCode(path))
        throw refuse(*objection);
    torch::jit::Module module = load();
    if (auto objection = findDisallowedOperator(module))
        throw refuse(*objection);
    return module;
}

} // namespace feremotion
